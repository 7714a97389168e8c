#!/usr/bin/env bash
# Install polystore-gui's menu entry and icon for the current user (no root needed).
#
#   packaging/install-desktop.sh [EXEC]      EXEC: the command the menu runs
#                                            (default: polystore-gui on PATH, else the bundle)
#   packaging/install-desktop.sh --uninstall
#
# Files go where the freedesktop specifications say: $XDG_DATA_HOME (default ~/.local/share)
# /applications, /icons/hicolor/<size>/apps and /metainfo.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
app="$data/applications/polystore-gui.desktop"
meta="$data/metainfo/io.github.openhcs.polystore_gui.metainfo.xml"

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$app" "$meta"
    find "$data/icons/hicolor" -name 'polystore-gui.*' -delete 2>/dev/null || true
    echo "removed the polystore-gui menu entry"
    exit 0
fi

exec_cmd="${1:-}"
if [ -z "$exec_cmd" ]; then
    if command -v polystore-gui >/dev/null; then
        exec_cmd="$(command -v polystore-gui)"
    elif [ -x "$here/dist/polystore-gui/polystore-gui" ]; then
        exec_cmd="$here/dist/polystore-gui/polystore-gui"
    else
        echo "polystore-gui is not on PATH and no bundle is built: pass the command to run" >&2
        exit 1
    fi
fi

mkdir -p "$data/applications" "$data/metainfo"
for dir in "$here"/resources/icons/hicolor/*/apps; do
    size="$(basename "$(dirname "$dir")")"
    mkdir -p "$data/icons/hicolor/$size/apps"
    cp "$dir"/polystore-gui.* "$data/icons/hicolor/$size/apps/"
done
sed -e "s|^Exec=.*|Exec=\"$exec_cmd\" %F|" -e "s|^TryExec=.*|TryExec=$exec_cmd|" \
    "$here/resources/polystore-gui.desktop" > "$app"
cp "$here/resources/io.github.openhcs.polystore_gui.metainfo.xml" "$meta"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "installed $app (runs $exec_cmd)"

#!/bin/sh
# Install VoiceStudio for the current user, without root:
#   the program           $PREFIX/opt/voicestudio/        (PREFIX defaults to ~/.local)
#   the command           $PREFIX/bin/voicestudio
#   the menu entry        $PREFIX/share/applications/org.voicestudio.VoiceStudio.desktop
#   icons and metadata    $PREFIX/share/icons/hicolor/*/apps/, $PREFIX/share/metainfo/
# A previous install there is replaced. ./uninstall.sh (also copied next to the program)
# removes all of it. System libraries the program needs and this machine lacks are named
# at the end, with the Debian/Ubuntu packages that provide them.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
app="$prefix/opt/voicestudio"
id=org.voicestudio.VoiceStudio

[ -x "$here/VoiceStudio/voicestudio" ] || { echo "install.sh: run it from the unpacked tarball (VoiceStudio/ not found beside it)" >&2; exit 1; }

mkdir -p "$prefix/opt" "$prefix/bin" "$prefix/share/applications" "$prefix/share/metainfo"
rm -rf "$app.new"
cp -R "$here/VoiceStudio" "$app.new"
cp "$here/uninstall.sh" "$here/system-libraries.txt" "$app.new/"
rm -rf "$app"
mv "$app.new" "$app"
ln -sfn "$app/voicestudio" "$prefix/bin/voicestudio"

# The menu entry starts the program by its full path: ~/.local/bin is often not on a
# desktop session's PATH.
sed -e "s|^Exec=voicestudio|Exec=$app/voicestudio|" -e "s|^TryExec=voicestudio|TryExec=$app/voicestudio|" \
  "$here/share/applications/$id.desktop" > "$prefix/share/applications/$id.desktop"
cp "$here/share/metainfo/$id.metainfo.xml" "$prefix/share/metainfo/"
for icon in "$here"/share/icons/hicolor/*/apps/$id.png; do
  size=$(basename "$(dirname "$(dirname "$icon")")")
  mkdir -p "$prefix/share/icons/hicolor/$size/apps"
  cp "$icon" "$prefix/share/icons/hicolor/$size/apps/"
done
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$prefix/share/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$prefix/share/icons/hicolor/index.theme" ] \
  && gtk-update-icon-cache -q "$prefix/share/icons/hicolor" || true

echo "VoiceStudio installed in $app"
echo "  command: $prefix/bin/voicestudio   (menu: VoiceStudio)"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "  note: $prefix/bin is not on your PATH" ;; esac

# System libraries: soname<TAB>package per line, written by packaging/build.py.
cache=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null || true)
missing=""
packages=""
while IFS="$(printf '\t')" read -r soname package; do
  case "$soname" in ''|'#'*) continue ;; esac
  if ! printf '%s\n' "$cache" | grep -q "^[[:space:]]*$soname "; then
    missing="$missing $soname"
    packages="$packages $package"
  fi
done < "$app/system-libraries.txt"
if [ -n "$missing" ]; then
  echo "VoiceStudio needs system libraries this machine lacks:$missing"
  echo "  on Debian or Ubuntu: sudo apt-get install$packages"
fi

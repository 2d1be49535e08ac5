#!/bin/sh
# Remove what install.sh installed (same PREFIX, default ~/.local). Settings, logs and
# projects in your home folder are yours and stay.
set -eu

main() {
  prefix=${PREFIX:-$HOME/.local}
  app="$prefix/opt/voicestudio"
  id=org.voicestudio.VoiceStudio
  if [ -L "$prefix/bin/voicestudio" ] && [ "$(readlink "$prefix/bin/voicestudio")" = "$app/voicestudio" ]; then
    rm -f "$prefix/bin/voicestudio"
  fi
  rm -f "$prefix/share/applications/$id.desktop" "$prefix/share/metainfo/$id.metainfo.xml"
  rm -f "$prefix"/share/icons/hicolor/*/apps/$id.png
  rm -rf "$app"
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$prefix/share/applications" || true
  echo "VoiceStudio removed from $prefix"
}

main "$@"  # read whole before it runs: this file may be inside the folder it removes
exit 0

"""Copy the console's front-end packages (installed by `npm ci` from package-lock.json) into
intake_bot/web/static/vendor, where the console serves them: no CDN at run time.

nhsuk-frontend's stylesheet loads the Frutiger web fonts from assets.nhs.uk; those rules are
taken out (the fonts are not in the package, and the console's Content-Security-Policy allows
fonts from itself only), so text falls back to Arial, as the design system's own stack says.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = REPO / "node_modules"
VENDOR = REPO / "intake_bot" / "web" / "static" / "vendor"
FILES = {
    "nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css": "nhsuk-frontend.min.css",
    "htmx.org/dist/htmx.min.js": "htmx.min.js",
}
_REMOTE_FONTS = re.compile(r"@font-face\s*\{[^}]*https?://[^}]*\}")


def main() -> int:
    missing = [name for name in FILES if not (MODULES / name).is_file()]
    if missing:
        print(f"run `npm ci` first: missing {', '.join(missing)}", file=sys.stderr)
        return 1
    VENDOR.mkdir(parents=True, exist_ok=True)
    for source, target in FILES.items():
        data = (MODULES / source).read_text(encoding="utf-8")
        if target.endswith(".css"):
            data = _REMOTE_FONTS.sub("", data)
            code = re.sub(r"/\*.*?\*/", "", data, flags=re.S)  # comments may cite addresses
            if "https://" in code.replace("https://www.w3.org", ""):  # SVG namespaces are names
                print(f"{target} still names a remote address", file=sys.stderr)
                return 1
        (VENDOR / target).write_text(data, encoding="utf-8")
    icons = MODULES / "nhsuk-frontend/dist/nhsuk/assets"
    if icons.is_dir():
        shutil.copytree(icons, VENDOR / "assets", dirs_exist_ok=True)
    print(f"front-end assets in {VENDOR.relative_to(REPO)}: {', '.join(FILES.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

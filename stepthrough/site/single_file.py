"""The single-file export: a built site folder as one HTML page that needs no other file.

Read from the finished folder, so it shows exactly what the folder shows. Stylesheets and
classic scripts go inline; every other file the page references becomes a `data:` URI. Sprite
sheets are named twice, by the static frame in a `style` attribute (for readers without
JavaScript) and by the widget data that scripts read, and several sections often share one; so
each is stored once, as a CSS custom property. `style` attributes use it with `var()`, and a
table `#stepthrough-files` (site path → property) lets `Stepthrough.data` in common.js hand
scripts the picture itself wherever widget data names that path.
"""

from __future__ import annotations

import base64
import html
import json
import mimetypes
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from stepthrough import log
from stepthrough.atomic import atomic_write
from stepthrough.errors import StepthroughError, UsageError
from stepthrough.site.assets import LATER_SCRIPTS, PATH_FIELDS
from stepthrough.site.build import CSP_META, LATER, allow_script, widget_data_of, with_csp
from stepthrough.site.parts import CONTENTS

PAGE = "index.html"
FILE_TABLE = "stepthrough-files"  # the id common.js looks for
PROPERTY = "--stepthrough-file-{}"
# The flag a page gets when the export leaves out a script a widget loads on request (LATER_SCRIPTS:
# the draw widget's model): draw.js reads it and says so beside its controls.
LEAVES_OUT = '<meta name="stepthrough-leaves-out" content="draw-model">\n'

# Scripts and style elements first: their text is not markup. A tag's quoted values may hold ">".
TOKEN = re.compile(
    r"<script\b(?P<script_attrs>[^>]*)>(?P<script>.*?)</script\s*>"
    r"|<style\b(?P<style_attrs>[^>]*)>(?P<style>.*?)</style\s*>"
    r"|(?P<tag><[a-zA-Z](?:[^>\"']|\"[^\"]*\"|'[^']*')*>)",
    re.DOTALL | re.IGNORECASE,
)
ATTRIBUTE = re.compile(r"""(\s(?P<name>[\w:-]+)\s*=\s*)(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')""")
CSS_URL = re.compile(r"""url\(\s*(?P<quote>["']?)(?P<ref>.*?)(?P=quote)\s*\)""", re.DOTALL)
SCRIPT_HASH = re.compile(r"'sha256-[A-Za-z0-9+/=]+'")
REFERENCE_ATTRIBUTES = {"src", "href", "poster", "data", "xlink:href"}
# The stylesheet a page loads beside itself (page.html) and its no-JavaScript copy: inline here.
LATE_STYLESHEET = "stepthrough-style"
NOSCRIPT_STYLESHEET = re.compile(
    r"<noscript>\s*<link\b[^>]*\bstylesheet\b[^>]*>\s*</noscript>\n?", re.IGNORECASE
)


def single_file(site_dir: Path) -> list[Path]:
    """Each page of the site as one self-contained file beside its folder, each written atomically:
    index.html as `<site>.html` (as the zip is `<site>.zip`), another page such as practice.html as
    `<site>-practice.html`. Links between pages point at those files: a browser will not follow a
    link to a `data:` page, so pages cannot hold each other."""
    site_dir = Path(site_dir)
    refuse_parts(site_dir)
    pages = sorted((p.name for p in site_dir.glob("*.html")), key=lambda name: (name != PAGE, name))
    names = {page: _single_name(site_dir, page) for page in pages}
    links = {other: target.name for other, target in names.items()}
    left_out: dict[Path, int] = {}
    texts = {page: inline_site(site_dir, page, links, left_out) for page in pages}
    main = names[PAGE].name if PAGE in names else None
    for page in pages:
        # The main file also carries the other pages, so that it still reaches them when it is
        # mailed alone: the link opens the copy inside (see OPEN_PAGES).
        carried = (
            {names[o].name: _with_pages(texts[o], {}, main) for o in pages if o != page}
            if page == PAGE
            else {}
        )
        text = _with_pages(texts[page], carried, main)
        # A blob: page keeps the policy of the page that made it: the main file allows the carried
        # pages' own scripts too.
        for source in dict.fromkeys(h for c in carried.values() for h in SCRIPT_HASH.findall(c)):
            text = text.replace("script-src 'self'", f"script-src 'self' {source}", 1)
        atomic_write(names[page], text.encode("utf-8"))
    if left_out:
        log.info(
            f"{names[PAGE if PAGE in names else pages[0]].name}: leaves out the draw widget's model "
            f"({sum(left_out.values()) / 1e6:.0f} MB, too much for one page) and says so on the page: "
            "readers draw their own from the site folder or its zip; the drawing made in advance stays"
        )
    return [names[page] for page in pages]


def refuse_parts(site_dir: Path) -> None:
    """UsageError for a site written in parts (site/parts.py): a link to a section finds its part's
    page through a script and a map of files, which one file has not."""
    if (Path(site_dir) / CONTENTS).is_file():
        raise UsageError(
            f"--single-file: {site_dir} is written in parts, one page each (it has more sections than "
            "site.toml's sections_per_page); one file cannot hold them: share the --zip, or raise sections_per_page"
        )


# Opens a page carried inside this file (a data: page would be blocked; a blob: page is not), and
# in such a carried page turns the link back to the main file into the browser's Back.
OPEN_PAGES = """(function () {
  var pages = %s, main = %s;
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey) return;
    var href = link.getAttribute("href"), at = href.indexOf("#"), name = at < 0 ? href : href.slice(0, at);
    if (Object.prototype.hasOwnProperty.call(pages, name)) {
      event.preventDefault();
      var bytes = Uint8Array.from(atob(pages[name]), function (c) { return c.charCodeAt(0); });
      location.href = URL.createObjectURL(new Blob([bytes], { type: "text/html;charset=utf-8" })) + (at < 0 ? "" : href.slice(at));
    } else if (name === main && location.protocol === "blob:" && history.length > 1) {
      event.preventDefault();
      history.back();
    }
  });
})();"""


def _with_pages(text: str, carried: dict[str, str], main: str | None) -> str:
    """The page with OPEN_PAGES before </body>, carrying `carried` (file name → page) base64-encoded."""
    if not carried and main is None:
        return text
    pages = {name: base64.b64encode(page.encode("utf-8")).decode("ascii") for name, page in carried.items()}
    code = OPEN_PAGES % (json.dumps(pages), json.dumps(main))
    script = f"<script>{code}</script>\n"
    end = text.lower().rfind("</body>")
    text = text + script if end < 0 else text[:end] + script + text[end:]
    return allow_script(text, code)  # the page's policy allows its own scripts by hash only


def _single_name(site_dir: Path, page: str) -> Path:
    stem = site_dir.name if page == PAGE else f"{site_dir.name}-{Path(page).stem}"
    return site_dir.with_name(stem + ".html")


def inline_site(
    site_dir: Path, page: str = PAGE, links: dict[str, str] | None = None, left_out: dict[Path, int] | None = None
) -> str:
    """One page of the site with every file it uses inside it; `links` renames the site's other pages.
    The scripts a widget loads on request (LATER_SCRIPTS) stay out: `left_out` hears each, with its size."""
    inliner = _Inliner(Path(site_dir), page, links or {})
    text = inliner.page()
    if left_out is not None:
        left_out.update(inliner.left_out)
    return text


class _Inliner:
    def __init__(self, site_dir: Path, page: str, links: dict[str, str]):
        self.site = site_dir.resolve()
        self.page_name = page
        self.links = links  # another page of the site → the file that holds it
        self.properties: dict[Path, str] = {}  # site file → the custom property that holds it
        self.table: dict[str, str] = {}  # a path as widget data spells it → its property
        self.problems: list[str] = []
        self.scripts: list[str] = []  # the code of each script file put inline
        self.left_out: dict[Path, int] = {}  # scripts a widget loads on request, left out: their sizes

    def page(self) -> str:
        source = self.site / self.page_name
        text = source.read_text(encoding="utf-8")
        policy = CSP_META.search(text)
        allowed = SCRIPT_HASH.findall(policy[0]) if policy else []  # the page's own inline scripts
        text = TOKEN.sub(self._token, NOSCRIPT_STYLESHEET.sub("", text))
        if self.problems:
            raise StepthroughError(
                f"{source}: cannot make one self-contained file; these references name no "
                "file of the site: " + ", ".join(sorted(set(self.problems)))
            )
        head_end = re.search(r"</head\s*>", text, re.IGNORECASE)
        if head_end is None:
            raise StepthroughError(f"{source}: has no </head> to hold the shared pictures")
        flag = LEAVES_OUT if self.left_out else ""
        page = text[: head_end.start()] + flag + self._shared_files() + text[head_end.start() :]
        page = with_csp(page, self.scripts)  # the site's scripts are inline now: allowed by their hashes
        for source in allowed:  # and those the page held inline already
            page = page.replace("script-src 'self'", f"script-src 'self' {source}", 1)
        return page

    def _token(self, match: re.Match) -> str:
        if match["tag"] is not None:
            return self._tag(match["tag"])
        if match["style"] is not None:
            css = self._css(match["style"], self.site, shared=False)
            return f"<style{match['style_attrs']}>{_escape_end(css, 'style')}</style>"
        attrs, body = match["script_attrs"], match["script"]
        src = _attribute(attrs, "src")
        later = _attribute(attrs, "data-src")  # a data file the page adds when the reader nears its widget
        if later is not None and "widget-data" in (_attribute(attrs, "class") or "").split():
            path = self._file(later, self.site)
            return match[0] if path is None else self._widget_data(path)
        if src is not None:
            path = self._file(src, self.site)
            if path is None:
                return match[0]
            if "widget-data" in (_attribute(attrs, "class") or "").split():
                return self._widget_data(path)
            code = _escape_end(path.read_text(encoding="utf-8"), "script").replace("<!--", "<\\!--")
            self.scripts.append(code)
            # An inline script cannot be deferred (nor may it say so); at the end of the body it
            # runs where the deferred file would, in the same order.
            attrs = re.sub(r"\sdefer\b(?!\s*=)", "", _without(attrs, "src"))
            return f"<script{attrs}>{code}</script>"
        if _attribute(attrs, "type") == "application/json":
            self._share_paths_in(json.loads(body))
        return match[0]

    def _widget_data(self, path: Path) -> str:
        """A widget's data file as inline JSON (common.js reads either): no script to allow by hash."""
        try:
            data = widget_data_of(path.read_text(encoding="utf-8"))
        except ValueError:
            raise StepthroughError(
                f"{path}: not a widget data file of this stepthrough; build the site again"
            )
        self._share_paths_in(data)
        if isinstance(data, dict) and isinstance(data.get(LATER), list):  # markup: its files inline too
            data[LATER] = [TOKEN.sub(self._token, str(part)) for part in data[LATER]]
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
            text = text.replace(char, escaped)
        return f'<script type="application/json" class="widget-data">{text}</script>'

    def _tag(self, tag: str) -> str:
        if tag[:5].lower() == "<link" and "stylesheet" in (_attribute(tag, "rel") or "").lower().split():
            path = self._file(_attribute(tag, "href") or "", self.site)
            if path is None:
                return tag
            css = self._css(path.read_text(encoding="utf-8"), path.parent, shared=False)
            # The stylesheet the page loads late (media="print" until it arrives) applies at once here.
            media = _attribute(tag, "media") if _attribute(tag, "id") != LATE_STYLESHEET else None
            kept = f' media="{html.escape(media)}"' if media else ""
            return f"<style{kept}>{_escape_end(css, 'style')}</style>"

        def attribute(match: re.Match) -> str:
            name, value = match["name"].lower(), _value(match)
            if name == "style":
                new = self._css(value, self.site, shared=True)
            elif name == "href" and self._other_page(value):
                new = self._other_page(value)
            elif name in REFERENCE_ATTRIBUTES:
                new = self._data_uri(value, self.site)
            else:
                return match[0]
            return match[0] if new == value else f'{match[1]}"{html.escape(new)}"'

        return ATTRIBUTE.sub(attribute, tag)

    def _other_page(self, ref: str) -> str | None:
        """A link to another page of the site, pointed at that page's own single file."""
        parts = urlsplit(ref)
        if not _is_relative(ref) or "/" in parts.path or unquote(parts.path) not in self.links:
            return None
        return self.links[unquote(parts.path)] + (f"#{parts.fragment}" if parts.fragment else "")

    def _css(self, css: str, base: Path, shared: bool) -> str:
        """CSS with its url()s inline; `shared` (style attributes) uses one copy per file via var()."""

        def url(match: re.Match) -> str:
            ref = match["ref"]
            path = self._file(ref, base) if shared else None
            if path is not None:
                return f"var({self._property(path)})"
            new = self._data_uri(ref, base)
            return match[0] if new == ref else f'url("{new}")'

        return CSS_URL.sub(url, css)

    def _share_paths_in(self, data: Any) -> None:
        """Widget data names frames by site path under the keys of PATH_FIELDS: each such path gets
        its shared copy. Every other string is data (a prompt, a token, a group named `assets/red`),
        whatever it looks like."""
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack += item
            elif isinstance(item, dict):
                for key, value in item.items():
                    if key in LATER_SCRIPTS and isinstance(value, str) and _is_relative(value):
                        path = self._path(value, self.site)
                        if path is not None:
                            self.left_out[path] = path.stat().st_size
                    elif key in PATH_FIELDS and isinstance(value, str) and _is_relative(value):
                        path = self._file(value, self.site)
                        if path is not None:
                            self.table[value] = self._property(path)
                    else:
                        stack.append(value)

    def _property(self, path: Path) -> str:
        return self.properties.setdefault(path, PROPERTY.format(len(self.properties)))

    def _shared_files(self) -> str:
        if not self.properties:
            return ""
        declarations = "".join(f'{prop}: url("{_encode(path)}");\n' for path, prop in self.properties.items())
        table = json.dumps(self.table, separators=(",", ":")).replace("<", "\\u003c")
        return (
            f"<style>\n:root {{\n{declarations}}}\n</style>\n"
            f'<script type="application/json" id="{FILE_TABLE}">{table}</script>\n'
        )

    def _data_uri(self, ref: str, base: Path) -> str:
        """`ref` as a data: URI when it names a file of the site; other URLs as they are."""
        path = self._file(ref, base)
        if path is None:
            return ref
        fragment = urlsplit(ref).fragment
        return _encode(path) + (f"#{fragment}" if fragment else "")

    def _file(self, ref: str, base: Path) -> Path | None:
        """The site file a relative reference names; a relative one that names none is a problem."""
        if not _is_relative(ref):
            return None
        path = self._path(ref, base)
        if path is None:
            self.problems.append(ref)
        return path

    def _path(self, ref: str, base: Path) -> Path | None:
        """The file of the site that `ref` names, if any."""
        try:
            path = (base / unquote(urlsplit(ref).path)).resolve()
            exists = path.is_file()
        except (OSError, ValueError):  # not a name the file system takes: no file of the site
            return None
        # Only inside the site: a stray "../.." must not pull other files into the page.
        return (
            path if exists and path.is_relative_to(self.site) and path != self.site / self.page_name else None
        )


def _is_relative(ref: str) -> bool:
    """A URL that names a file beside the page: no scheme, not a fragment of the page itself."""
    parts = urlsplit(ref.strip())
    return bool(parts.path) and not parts.scheme and not parts.netloc and not parts.path.startswith("/")


def _encode(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _escape_end(text: str, element: str) -> str:
    """Inline CSS or JS must not end its element early: `</script` → `<\\/script` (same meaning)."""
    return re.sub(f"</({element})", r"<\\/\1", text, flags=re.IGNORECASE)


def _attribute(tag: str, name: str) -> str | None:
    return next((_value(m) for m in ATTRIBUTE.finditer(tag) if m["name"].lower() == name), None)


def _value(attribute: re.Match) -> str:
    return html.unescape(attribute["dq"] if attribute["sq"] is None else attribute["sq"])


def _without(attrs: str, name: str) -> str:
    return ATTRIBUTE.sub(lambda m: "" if m["name"].lower() == name else m[0], attrs)

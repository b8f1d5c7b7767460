"make docs builds a static site from nbs/ with a page per chapter, the API rendered, and no broken local links."
import re, subprocess, sys
from html.parser import HTMLParser
from conftest import ROOT, copy_project

class _Links(HTMLParser):
    def __init__(self): super().__init__(); self.links = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'a' and a.get('href'): self.links.append(a['href'])
        if tag in ('img', 'script') and a.get('src'): self.links.append(a['src'])
        if tag == 'link' and a.get('href'): self.links.append(a['href'])

def test_docs_build(tmp_path):
    copy = copy_project(tmp_path/'p')
    subprocess.run([sys.executable, 'docs/build.py'], cwd=copy, check=True, capture_output=True)
    site = copy/'_docs'
    chapters = [p.stem for p in (ROOT/'nbs').glob('[0-9]*.ipynb')]
    guides = [f"guides/{p.stem}" for p in (ROOT/'nbs'/'guides').glob('*.ipynb')]
    assert guides, "no guides in nbs/guides/"
    for page in ['index', *chapters, *guides]: assert (site/f'{page}.html').exists(), f"no page for {page}"
    text = re.sub(r'<[^>]+>', '', (site/'10_data.load.html').read_text())
    assert 'def read_dataset(' in text and 'raw data folder' in text      # show_doc rendered the API with its docments
    assert '<h1>Data' in (site/'10_data.load.html').read_text()               # the chapter title became the page title
    broken = []
    for page in [*site.glob('*.html'), *site.glob('guides/*.html')]:
        p = _Links(); p.feed(page.read_text())
        for href in p.links:
            if re.match(r'^(https?:|mailto:|#|data:|javascript:)', href): continue
            target = (page.parent/href.split('#')[0].split('?')[0]).resolve()
            if not target.exists(): broken.append(f"{page.name} -> {href}")
    assert not broken, f"broken local links: {broken[:10]}"
    # formulas are typeset by a MathJax shipped with the site: a page read offline must not depend on a CDN script
    remote = [f"{page.name}: {src}" for page in site.glob('*.html')
              for src in re.findall(r'<script[^>]*src="(https?:[^"]+)"', page.read_text())]
    assert not remote, f"pages that load scripts from the network: {remote[:5]}"
    assert ('mathjax/tex-chtml.js' in (site/'32_evaluate.compare.html').read_text()
            and (site/'_static'/'mathjax'/'tex-chtml.js').is_file())
    # every page shows its body, not only its title and summary (nbdev's front-matter step once swallowed the rest of a
    # first cell, and two pages rendered empty)
    thin = [c for c in chapters if (site/f'{c}.html').read_text().count('<p>') < 4]
    assert not thin, f"pages with hardly any text: {thin}"
    nav = (site/'index.html').read_text()
    for c in [*chapters, *guides]: assert f'href="{c}.html"' in nav, f"index does not link {c}"

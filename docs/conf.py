"Sphinx configuration for the modelbook site: nbdev_proc_nbs output, rendered offline with myst-nb."
import configparser
from pathlib import Path

_cfg = configparser.ConfigParser(delimiters=['='])
_cfg.read(Path(__file__).resolve().parents[1]/'settings.ini', encoding='utf-8')
_s = _cfg['DEFAULT']

project = _s['title']
author = _s['author']
copyright = _s['copyright']
release = version = _s['version']
# MathJax copied into _static: formulas render with no network (a CDN script would not)
extensions = ['myst_nb', 'sphinx-mathjax-offline']
myst_enable_extensions = ['attrs_inline', 'colon_fence', 'deflist', 'dollarmath']
myst_heading_anchors = 3
nb_execution_mode = 'off'            # chapters are committed with their outputs; show_doc cells ran in nbdev_proc_nbs
nb_render_markdown_format = 'myst'   # show_doc renders as markdown
nb_mime_priority_overrides = [('html', 'text/markdown', 5)]
exclude_patterns = ['_build', '**.ipynb_checkpoints', '*.yml']
html_theme = 'furo'
html_title = f"{project} {version}"
html_theme_options = {'navigation_with_keys': True}
html_static_path = []
suppress_warnings = ['mystnb.unknown_mime_type', 'myst.header']

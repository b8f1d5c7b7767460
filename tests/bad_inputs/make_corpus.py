"""Regenerate the bad-input corpus from the bundled Caravan data: `python tests/bad_inputs/make_corpus.py`.
Each file breaks one rule; tests/test_bad_inputs.py says what error each must produce."""
from pathlib import Path
import numpy as np, pandas as pd

HERE = Path(__file__).parent
raw = pd.read_csv(HERE.parents[1]/'data'/'raw'/'caravan.csv')
base = raw.head(300).copy()

def write(name, df, **kw): df.to_csv(HERE/name, index=False, **kw)

write('ok.csv', base)
bad = base.copy().astype({'MOSTYPE': object}); bad.loc[4, 'MOSTYPE'] = 'thirty'; write('wrong_dtype.csv', bad)
bad = base.copy(); bad.loc[[17, 42], 'MOSTYPE'] = [0, 99]; write('out_of_range.csv', bad)
bad = base.copy(); bad.loc[7, 'Purchase'] = 'Maybe'; write('unknown_level.csv', bad)
write('missing_column.csv', base.drop(columns=['MOSHOOFD']))
(HERE/'empty.csv').write_text('')
write('header_only.csv', base.head(0))
write('wrong_delimiter.csv', base, sep=';')
text = (HERE/'ok.csv').read_text().splitlines(); text[3] = text[3].replace(',No', ',N\xf6')
(HERE/'non_utf8.csv').write_bytes(('\n'.join(text) + '\n').encode('latin-1'))
lines = (HERE/'ok.csv').read_text().splitlines(); lines[0] = lines[0].replace('MAANTHUI', 'MOSTYPE', 1)
(HERE/'duplicated_header.csv').write_text('\n'.join(lines) + '\n')
bad = base.copy().astype({'PPERSAUT': float}); bad.loc[[5, 6], 'PPERSAUT'] = [np.nan, np.inf]
write('nan_and_inf.csv', bad)
leak = raw.head(1500).copy(); rng = np.random.default_rng(0)
leak['PPERSAUT'] = np.where(leak['Purchase'].eq('Yes'), 8, 0); flip = rng.choice(len(leak), 15, replace=False)
leak.loc[flip, 'PPERSAUT'] = 8 - leak.loc[flip, 'PPERSAUT']; write('target_leak.csv', leak)
pii = base.copy(); pii.insert(0, 'contact', [f"customer{i}@example-mail.com" for i in range(len(pii))])
write('pii_column.csv', pii)

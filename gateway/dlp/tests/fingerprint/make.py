#!/usr/bin/env python3
"""Writes the fixtures of tests/fingerprint.rs with real writers (pinned, from PyPI):

- protected.docx: the protected document, a 36-paragraph agreement whose text Faker writes
  (seeded), saved by python-docx;
- excerpt.pdf and excerpt.docx: 30% of its text (consecutive paragraphs from the middle),
  reflowed to other line lengths, re-cased and re-punctuated, saved by fpdf2 and python-docx;
- protected.txt and excerpt.txt: the same texts, for reading the fixtures.

Run (pinned):
  python3 -m venv /tmp/v && /tmp/v/bin/pip install python-docx==1.1.2 fpdf2==2.8.1 Faker==40.63.0
  /tmp/v/bin/python gateway/dlp/tests/fingerprint/make.py
"""
import datetime
import os
import textwrap

import docx
import faker
import fpdf

HERE = os.path.dirname(os.path.abspath(__file__))
fake = faker.Faker('en_US')
faker.Faker.seed(20261206)

parties = (fake.company(), fake.company())
paragraphs = []
for i in range(36):
    head = f"{i + 1}. {fake.catch_phrase().title()}."
    body = ' '.join(fake.paragraph(nb_sentences=6, variable_nb_sentences=False) for _ in range(2))
    paragraphs.append(f"{head} {parties[i % 2]} {body}")

text = '\n\n'.join(paragraphs)
total = len(text)

# Consecutive paragraphs from the twelfth on, until 30% of the characters.
start, chosen = 11, []
while sum(len(p) for p in chosen) < 0.30 * total:
    chosen.append(paragraphs[start + len(chosen)])

def reworked(i, p):
    p = p.replace(', ', ' ; ').replace('. ', ' -- ')
    p = p.upper() if i % 2 == 0 else p.lower()
    return textwrap.fill(p, width=47 + 11 * (i % 3))

excerpt = '\n\n'.join(reworked(i, p) for i, p in enumerate(chosen))

with open(os.path.join(HERE, 'protected.txt'), 'w', encoding='utf-8') as f:
    f.write(text + '\n')
with open(os.path.join(HERE, 'excerpt.txt'), 'w', encoding='utf-8') as f:
    f.write(excerpt + '\n')

d = docx.Document()
d.core_properties.created = datetime.datetime(2026, 12, 6)
d.add_heading(f"Master Services Agreement between {parties[0]} and {parties[1]}", 1)
for p in paragraphs:
    d.add_paragraph(p)
d.save(os.path.join(HERE, 'protected.docx'))

d = docx.Document()
d.core_properties.created = datetime.datetime(2026, 12, 6)
for block in excerpt.split('\n\n'):
    d.add_paragraph(block)
d.save(os.path.join(HERE, 'excerpt.docx'))

pdf = fpdf.FPDF()
pdf.set_creation_date(datetime.datetime(2026, 12, 6))
pdf.add_page()
pdf.set_font('helvetica', size=10)
for block in excerpt.split('\n\n'):
    pdf.multi_cell(0, 5, block.replace('\n', ' '), new_x='LMARGIN', new_y='NEXT')
    pdf.ln(3)
pdf.output(os.path.join(HERE, 'excerpt.pdf'))
print(f'protected {total} chars; excerpt {sum(len(p) for p in chosen)} chars '
      f'({100 * sum(len(p) for p in chosen) / total:.0f}%) in {len(chosen)} paragraphs')

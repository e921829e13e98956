#!/usr/bin/env python3
"""Writes the docx, xlsx and PDF carriers of tests/carriers.rs from values.txt
(one line each: a paragraph, a cell, a text line), with pinned writers from
PyPI, so that the documents are what Word-compatible and PDF tools produce,
not what cordon's own tests would write.

Run (pinned):
  python3 -m venv /tmp/v && /tmp/v/bin/pip install python-docx==1.1.2 openpyxl==3.1.5 fpdf2==2.8.1
  /tmp/v/bin/python gateway/dlp/tests/carriers/make.py
"""
import datetime
import os

import docx
import fpdf
import openpyxl

HERE = os.path.dirname(os.path.abspath(__file__))
lines = [l for l in open(os.path.join(HERE, 'values.txt'), encoding='utf-8').read().splitlines() if l]

d = docx.Document()
d.core_properties.created = datetime.datetime(2026, 12, 5)
for l in lines:
    d.add_paragraph(l)
d.save(os.path.join(HERE, 'values.docx'))

wb = openpyxl.Workbook()
ws = wb.active
for i, l in enumerate(lines, 1):
    if ':' in l:
        label, value = l.split(':', 1)
        label, value = label + ':', value.strip()
    else:
        label, value = l.rsplit(' ', 1)
    ws.cell(row=i, column=1, value=label)
    ws.cell(row=i, column=2, value=value)
wb.properties.created = datetime.datetime(2026, 12, 5)
wb.save(os.path.join(HERE, 'values.xlsx'))

pdf = fpdf.FPDF()
pdf.set_creation_date(datetime.datetime(2026, 12, 5))
pdf.add_page()
pdf.set_font('helvetica', size=11)
for l in lines:
    pdf.cell(0, 8, l, new_x='LMARGIN', new_y='NEXT')
pdf.output(os.path.join(HERE, 'values.pdf'))
print('wrote values.docx, values.xlsx, values.pdf')

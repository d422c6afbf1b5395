"""The report as a PDF (fpdf2, pure Python), laid out from the same blocks as the HTML. Text is set
in DejaVu Sans, which matplotlib ships, so every character of the HTML prints here too."""

from __future__ import annotations

import io
from pathlib import Path

from benchmark.report.document import Heading, Image, Num, Para, Table, layout

PAGE_WIDTH = 180.0  # mm of text width on A4 with 15 mm margins
NARROW_WIDTH = 115.0  # tables of two columns
BLUE = (31, 95, 168)
GREY = (90, 100, 114)
MARGIN, NOTE_MARGIN = 15, 5  # mm; notes may run into the bottom margin rather than stand alone
MARKED = (253, 233, 228)
HEADER = (238, 242, 247)
IMAGE_WIDTH = {"plot": 150.0, "keyframes": PAGE_WIDTH}  # keyframes: three frames of 60 mm across the page
OVERVIEW_WIDTH = 165.0
DPI = 110  # the plots' resolution, for their natural size


def _fonts() -> dict[str, Path]:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return {
        "": folder / "DejaVuSans.ttf",
        "B": folder / "DejaVuSans-Bold.ttf",
        "I": folder / "DejaVuSans-Oblique.ttf",
    }


def _notes_height(pdf, blocks) -> float:
    """The height of the run of notes at the start of ``blocks`` (a section of notes, such as the
    definitions, is kept on one page with its heading when it fits on one)."""
    from fpdf.enums import MethodReturnValue

    height = 0.0
    pdf.set_font("DejaVu", "I", 8.5)
    for block in blocks:
        if not (isinstance(block, Para) and block.note):
            break
        height += 1 + pdf.multi_cell(
            0, 4.6, _text(block.parts), align="L", dry_run=True, output=MethodReturnValue.HEIGHT
        )
    return min(height, pdf.h - pdf.t_margin - pdf.b_margin - 20)


def _text(cell) -> str:
    if isinstance(cell, list):
        return "".join(_text(piece) for piece in cell)
    if isinstance(cell, Num):
        return cell.text
    return str(cell)


def render_pdf(data: dict, images: dict[str, bytes]) -> bytes:
    """The report as PDF bytes."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace
    from PIL import Image as PILImage

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    for style, path in _fonts().items():
        pdf.add_font("DejaVu", style, str(path))
    pdf.set_title(f"TwinArena stress test: {data['policy']}")
    pdf.set_creator("twinarena report")
    pdf.alias_nb_pages()
    pdf.add_page()

    def room(height: float) -> None:
        if pdf.get_y() + height > pdf.h - pdf.b_margin:
            pdf.add_page()

    blocks = layout(data)
    for k, block in enumerate(blocks):
        following = blocks[k + 1] if k + 1 < len(blocks) else None
        if isinstance(block, Para) and isinstance(following, Table | Image):
            room(22)  # keep a lead-in line with what it introduces
        if isinstance(block, Heading):
            size = {1: 17, 2: 13.5, 3: 11}[block.level]
            room(max({1: 20, 2: 45, 3: 35}[block.level], 15 + _notes_height(pdf, blocks[k + 1 :])))
            pdf.ln(3 if block.level > 1 else 0)
            pdf.set_font("DejaVu", "B", size)
            pdf.set_text_color(*(BLUE if block.level < 3 else (29, 36, 48)))
            pdf.multi_cell(0, size * 0.5, block.text, align="L", new_x="LMARGIN", new_y="NEXT")
            if block.level < 3:
                pdf.set_draw_color(*BLUE)
                pdf.line(pdf.l_margin, pdf.get_y() + 0.5, pdf.w - pdf.r_margin, pdf.get_y() + 0.5)
            pdf.ln(2)
            pdf.set_text_color(29, 36, 48)
        elif isinstance(block, Para):
            pdf.set_font("DejaVu", "I" if block.note else "", 8.5 if block.note else 9.5)
            pdf.set_text_color(*(GREY if block.note else (29, 36, 48)))
            if block.note:  # a note stays on the page of what it explains: it may use the bottom margin
                pdf.set_auto_page_break(True, margin=NOTE_MARGIN)
            pdf.multi_cell(0, 4.6, _text(block.parts), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.set_auto_page_break(True, margin=MARGIN)
            pdf.set_text_color(29, 36, 48)
            pdf.ln(1)
        elif isinstance(block, Table):
            pdf.set_font("DejaVu", "", 7.5 if len(block.columns) > 6 else 8.5)
            widths = block.widths or [1.0] * len(block.columns)
            room(14)
            with pdf.table(
                col_widths=widths,
                width=PAGE_WIDTH if len(block.columns) > 2 else NARROW_WIDTH,
                text_align="LEFT",
                align="LEFT",
                line_height=4.4,
                headings_style=FontFace(emphasis="BOLD", fill_color=HEADER),
                borders_layout="SINGLE_TOP_LINE",
                padding=0.8,
            ) as table:
                table.row(list(block.columns))
                for k, row in enumerate(block.rows):
                    marked = k < len(block.marked) and block.marked[k]
                    style = FontFace(emphasis="BOLD", fill_color=MARKED) if marked else None
                    table.row([_text(c) for c in row], style=style)
            pdf.ln(2)
        elif isinstance(block, Image):
            payload = images[block.id]
            with PILImage.open(io.BytesIO(payload)) as image:
                width_px, height_px = image.size
            natural = width_px / DPI * 25.4 if block.kind == "plot" else IMAGE_WIDTH["keyframes"]
            width = min(OVERVIEW_WIDTH if block.id == "overview" else IMAGE_WIDTH[block.kind], natural)
            height = width * height_px / width_px
            if height > pdf.h - pdf.t_margin - pdf.b_margin - 10:  # a tall plot: fit it to a page
                height = pdf.h - pdf.t_margin - pdf.b_margin - 10
                width = height * width_px / height_px
            room(height + 2)
            pdf.image(io.BytesIO(payload), x=pdf.l_margin, w=width, h=height, alt_text=block.caption)
            pdf.set_y(pdf.get_y() + 2)
    return bytes(pdf.output())

"""The paper backup of the master key: the printable page of SLIP-39 shares, and reading
shares back for ``cohortvault keys recover``.

No command line here: ``cohortvault.storage.cli`` asks and answers, this module renders the page,
writes it privately and checks the shares it is given.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import segno
import shamir_mnemonic

from cohortvault.storage.keyfile import fsync_directory


def share_qr_svg(mnemonic: str, *, title: str = "") -> str:
    """The QR code of one share as inline SVG (a phone or scanner reads back the words)."""
    code = segno.make(mnemonic, error="m")
    return str(code.svg_inline(scale=3, border=4, svgclass="qr", title=title or None))


PAGE_STYLE = """
@page { size: A4; margin: 15mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #000; background: #fff; }
section.share { break-after: page; page-break-after: always; }
section.share:last-of-type { break-after: auto; page-break-after: auto; }
h1 { font-size: 18pt; margin: 0 0 4mm; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 1mm 4mm; }
dt { font-weight: bold; }
dd { margin: 0; }
code { font-family: "DejaVu Sans Mono", monospace; word-break: break-all; }
ol.words { display: grid; grid-template-columns: repeat(3, 1fr); gap: 2mm 6mm;
           list-style: none; padding: 0; font-family: "DejaVu Sans Mono", monospace;
           font-size: 13pt; }
ol.words li { border-bottom: 1px solid #999; padding: 1mm 0; }
ol.words .n { display: inline-block; width: 2.5em; color: #555; }
div.bottom { display: flex; gap: 6mm; align-items: flex-start; }
figure.qr { margin: 2mm 0; flex: none; width: 60mm; }
figcaption { font-size: 9pt; }
.instructions { font-size: 10pt; }
"""


def render_paper_backup(mnemonics: list[str], *, threshold: int, recipient: str, made: str) -> str:
    """A printable page, one share per printed page, self-contained (no external resources)."""
    count = len(mnemonics)
    sections = []
    for number, mnemonic in enumerate(mnemonics, start=1):
        words = mnemonic.split()
        grid = "\n".join(
            f'<li><span class="n">{i}.</span><span class="word">{html.escape(word)}</span></li>'
            for i, word in enumerate(words, start=1)
        )
        qr = share_qr_svg(mnemonic, title=f"Share {number} of {count}")
        set_prefix = html.escape(" ".join(words[:2]))
        sections.append(
            f"""<section class="share" data-share="{number}">
<h1>cohortvault master key &mdash; share {number} of {count}</h1>
<dl>
<dt>Instance</dt><dd>master public key <code class="recipient">{html.escape(recipient)}</code></dd>
<dt>Share</dt><dd>{number} of {count}; any {threshold} of the {count} shares rebuild the key</dd>
<dt>Share set</dt><dd>every share of this set begins with &ldquo;{set_prefix}&rdquo;</dd>
<dt>Made</dt><dd>{html.escape(made)}</dd>
</dl>
<ol class="words" data-mnemonic="{html.escape(mnemonic)}">
{grid}
</ol>
<div class="bottom">
<figure class="qr">{qr}
<figcaption>Share {number}: its {len(words)} words as a QR code.</figcaption></figure>
<div class="instructions">
<p><strong>Secret.</strong> This share is one part of the key that unlocks every file of the
instance. Fewer than {threshold} shares reveal nothing about the key; {threshold} reveal all.</p>
<ol>
<li>Store each share in a different safe, in different places, and keep a list of where they are
(not of their words).</li>
<li>To rebuild the key, bring any {threshold} shares together and run
<code>cohortvault keys recover --data-dir DIR</code> on the server: type the words of each
share when asked (they are not shown), or save each share's words (or its scanned QR code) to a
text file and pass it with <code>--share-file FILE</code>.</li>
<li>The command checks that the rebuilt key is the one with the public key printed above before
it writes the key file.</li>
<li>After <code>cohortvault keys rotate-master</code> these shares no longer work: make new ones
and destroy these.</li>
</ol>
</div>
</div>
</section>"""
        )
    body = "\n".join(sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<title>cohortvault master key: paper backup ({threshold} of {count})</title>
<style>{PAGE_STYLE}</style>
</head>
<body>
{body}
</body>
</html>
"""


def write_new_private_file(path: Path, text: str) -> None:
    """Write a file readable by the owner only, never replacing an existing one, and never
    visible half written (temporary file, fsync, hard link into place)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    fsync_directory(path.parent)


class ShareError(ValueError):
    """A share that cannot be used; the message says why."""


class ShareSet:
    """SLIP-39 shares collected one by one, checked as they arrive."""

    def __init__(self) -> None:
        self.shares: dict[int, shamir_mnemonic.Share] = {}

    @property
    def needed(self) -> int | None:
        first = next(iter(self.shares.values()), None)
        return None if first is None else int(first.member_threshold)

    @property
    def complete(self) -> bool:
        return self.needed is not None and len(self.shares) >= self.needed

    def add(self, text: str) -> None:
        """Add one share given as its words (numbers and punctuation around them are ignored);
        raises ``ShareError`` with the reason when it cannot be used."""
        words = re.findall(r"[a-z]+", text.lower())
        try:
            share = shamir_mnemonic.Share.from_mnemonic(" ".join(words))
        except shamir_mnemonic.MnemonicError as exc:
            raise ShareError(f"not a valid share: {exc}") from None
        if share.group_count != 1 or share.group_threshold != 1:
            raise ShareError("this share was not made by `cohortvault keys paper-backup`")
        first = next(iter(self.shares.values()), None)
        if first is not None and share.group_parameters() != first.group_parameters():
            raise ShareError(
                "this share belongs to a different set (another backup or another instance)"
            )
        self.shares[share.index] = share

    def mnemonics(self) -> list[str]:
        """Exactly as many shares as needed (SLIP-39 refuses more than the threshold)."""
        needed = self.needed or 0
        return [share.mnemonic() for _, share in sorted(self.shares.items())[:needed]]


def split_shares(text: str) -> list[str]:
    """The shares in a file: one per line when every line holds a whole share, otherwise the
    whole text is one share (say, the words copied from the grid, several per line)."""
    lines = [line for line in text.splitlines() if re.search(r"[A-Za-z]", line)]
    lines = [line for line in lines if not line.lstrip().startswith("#")]
    if len(lines) > 1 and all(len(re.findall(r"[A-Za-z]+", line)) >= 20 for line in lines):
        return lines
    return [" ".join(lines)] if lines else []

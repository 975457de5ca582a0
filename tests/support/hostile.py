"""Untrusted text that tries to become a workflow command or markup: the cases every escape is tested on."""

from __future__ import annotations

HOSTILE = [
    "::add-mask::x",
    "::error::injected",
    "%0A::error::x",
    "a\n::error::x",
    "a\r::error::x",
    "a\r\n::warning file=x::y",
    "  \t::set-output name=x::y",
    "\u2028::error::x",
    "\xa0::error::x",
    "\u3000::stop-commands::tok",
    "text ##[error]legacy",
    "##[add-mask]secret",
    "##[set-output name=x;]y",
    "</details><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "| a | b |",
    "[click](https://evil.example)",
    "![img](https://evil.example/x.png)",
    "`code` **bold** _em_ ~~s~~",
    "# heading",
    "- item",
    "1. item",
    "&lt;script&gt;",
    "\\|",
    "${{ secrets.TOKEN }}",
]

"""TOML strings for the generated scenario.toml files: one-line and multi-line."""

import json


def toml_str(text):
    return json.dumps(text, ensure_ascii=False)


def toml_block(text):
    assert "'''" not in text
    return "'''\n" + text + "'''"

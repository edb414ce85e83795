"""Pickle opcodes spelled out, for hand-made (hostile or unusual) pickles in the torch tests."""
import struct


def global_op(module, name):
    """GLOBAL: pushes module.name (protocol 0 text form)."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def binunicode(text):
    """BINUNICODE: a str with a 4-byte little-endian length."""
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data

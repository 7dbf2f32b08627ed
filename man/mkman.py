#!/usr/bin/env python3
"""mkman.py: writes man/man3/<function>.3 from man/functions.txt and the prototypes in
include/zmq.h. Run it after changing either; the pages are checked in, so building and
installing zinc needs no Python. usage: man/mkman.py"""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
FIELDS = {"N": "summary", "D": "DESCRIPTION", "R": "RETURN VALUE", "E": "ERRORS",
          "Z": "ZINC AND LIBZMQ"}


def prototypes():
    text = open(os.path.join(HERE, "..", "include", "zmq.h")).read()
    protos = {}
    for m in re.finditer(r"ZMQ_EXPORT\s+([^;]*?\b(zmq_\w+)\s*\([^;]*\));", text, re.S):
        protos[m.group(2)] = " ".join(m.group(1).split()) + ";"
    return protos


def blocks():
    cur = None
    field = None
    for line in open(os.path.join(HERE, "functions.txt")):
        line = line.rstrip("\n")
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("@ "):
            cur = {"names": line[2:].split()}
            yield cur
        elif line.startswith(" "):
            cur[field] += " " + line.strip()
        else:
            field = line[0]
            cur[field] = line[2:].strip()


def roff(text):
    return text.replace("\\", "\\e").replace("\n.", "\n\\&.")


def page(name, b, protos):
    out = [f'.TH {name.upper()} 3 "" "zinc 4.3.4" "zinc manual"',
           ".SH NAME", f"{name} \\- {roff(b['N'])}",
           ".SH SYNOPSIS", ".nf", "#include <zmq.h>", ""]
    for n in b["names"]:
        out.append(".B " + roff(protos[n]))
    out += [".fi", "Link with -lzmq (zinc's drop-in) or -lzinc."]
    if b["Z"] == "none.":
        b = dict(b, Z="zinc behaves as libzmq 4.3.4 here.")
    for key in "DREZ":
        out += [f".SH {FIELDS[key]}", roff(b[key])]
    others = [n for n in b["names"] if n != name]
    also = ", ".join([f"{n}(3)" for n in others] + ["zinc(1)"])
    out += [".SH SEE ALSO", also, ""]
    return "\n".join(out)


def main():
    protos = prototypes()
    os.makedirs(os.path.join(HERE, "man3"), exist_ok=True)
    for b in list(blocks()):
        for name in b["names"]:
            with open(os.path.join(HERE, "man3", name + ".3"), "w") as f:
                f.write(page(name, b, protos))


main()

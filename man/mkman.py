#!/usr/bin/env python3
"""mkman.py: writes man/man3/<function>.3 from man/functions.txt and the prototypes in
include/zmq.h, man/man7/zmq_socket_options.7 from man/options.txt, and the other
section-7 pages (transports, socket types, shm://) from man/pages.txt. Run it after
changing any of them; the pages are checked in, so building and installing zinc needs
no Python. usage: man/mkman.py"""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
FIELDS = {"N": "summary", "D": "DESCRIPTION", "R": "RETURN VALUE", "E": "ERRORS",
          "Z": "ZINC AND LIBZMQ"}


def prototypes():
    protos = {}
    for header in ("zmq.h", "zinc.h"):
        text = open(os.path.join(HERE, "..", "include", header)).read()
        for m in re.finditer(r"ZMQ_EXPORT\s+([^;]*?\b((?:zmq|zinc)_\w+)\s*\([^;]*\));",
                             text, re.S):
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


# Section-7 pages a function page points to, beyond the functions of its block.
SEE_ALSO_7 = {
    "zmq_setsockopt": ["zmq_socket_options(7)"],
    "zmq_getsockopt": ["zmq_socket_options(7)"],
    "zmq_socket": ["zmq_socket_types(7)"],
    "zmq_bind": ["zmq_tcp(7)", "zmq_ipc(7)", "zmq_inproc(7)", "zinc_shm(7)"],
    "zmq_connect": ["zmq_tcp(7)", "zmq_ipc(7)", "zmq_inproc(7)", "zinc_shm(7)"],
}


def page(name, b, protos):
    out = [f'.TH {name.upper()} 3 "" "zinc 4.3.4" "zinc manual"',
           ".SH NAME", f"{name} \\- {roff(b['N'])}",
           ".SH SYNOPSIS", ".nf", "#include <zmq.h>", ""]
    if name.startswith("zinc_"):
        out.insert(-1, "#include <zinc.h>")
    for n in b["names"]:
        out.append(".B " + roff(protos[n]))
    out += [".fi", "Link with -lzmq (zinc's drop-in) or -lzinc."]
    if b["Z"] == "none.":
        b = dict(b, Z="zinc behaves as libzmq 4.3.4 here.")
    for key in "DREZ":
        out += [f".SH {FIELDS[key]}", roff(b[key])]
    others = [n for n in b["names"] if n != name]
    also = ", ".join([f"{n}(3)" for n in others] + SEE_ALSO_7.get(name, []) +
                     ["zinc(1)"])
    out += [".SH SEE ALSO", also, ""]
    return "\n".join(out)


OPTION_FIELDS = {"N": "names", "T": "type", "V": "default", "S": "sockets", "A": "use",
                 "D": "description", "Z": "zinc"}


def option_blocks():
    """The sections of options.txt, in file order."""
    cur = None
    field = None
    for line in open(os.path.join(HERE, "options.txt")):
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


def options_page():
    out = ['.TH ZMQ_SOCKET_OPTIONS 7 "" "zinc 4.3.4" "zinc manual"',
           ".SH NAME", "zmq_socket_options \\- the socket options of zmq_setsockopt and "
           "zmq_getsockopt",
           ".SH SYNOPSIS", ".nf", "#include <zmq.h>", "#include <zinc.h>  /* ZINC_* */", "",
           ".B int zmq_setsockopt(void *socket, int option, const void *value, "
           "size_t size);",
           ".B int zmq_getsockopt(void *socket, int option, void *value, size_t *size);",
           ".fi",
           ".SH DESCRIPTION",
           "Each section below is one option: the C type of its value, its default, the "
           "socket types (and transports) it applies to, whether it can be set, read or "
           "both, what it does, and where zinc differs from libzmq 4.3. An option set "
           "on a socket type it does not belong to fails with EINVAL. Options that "
           "shape connections take effect for connections made after they are set, "
           "unless the section says otherwise.",
           ".SH OPTIONS"]
    for b in list(option_blocks()):
        name = b["names"][0]
        out.append(".SS " + name)
        if len(b["names"]) > 1:
            out.append("Also spelled " + ", ".join(b["names"][1:]) + ".")
            out.append(".br")
        facts = [f"Type: {b['T']}."]
        if "V" in b:
            facts.append(f"Default: {b['V']}.")
        facts.append(f"Applies to: {b['S']}.")
        facts.append(f"Use: {b.get('A', 'set and get')}.")
        for fact in facts:
            out += [roff(fact), ".br"]
        out += [".PP", roff(b["D"]), ".PP"]
        z = b["Z"]
        if z.startswith("none"):
            z = "as libzmq" + z[4:]
        out.append(roff("zinc and libzmq: " + z))
    out += [".SH ZINC AND LIBZMQ",
            "Every option of libzmq 4.3's stable API is accepted and read back; each "
            "section above says where zinc acts differently. zinc adds ZINC_SHM_RING_SIZE "
            "and ZINC_SHM_SPIN_US for shm://, declared in <zinc.h>.",
            ".SH SEE ALSO",
            "zmq_setsockopt(3), zmq_getsockopt(3), zmq_socket_types(7), zmq_tcp(7), "
            "zmq_ipc(7), zinc_shm(7)", ""]
    return "\n".join(out)


def section7_pages():
    """(name, roff text) for each page of pages.txt."""
    pages = []
    out = None
    para = False
    for line in open(os.path.join(HERE, "pages.txt")):
        line = line.rstrip("\n")
        if line.startswith("%"):
            continue
        if line.startswith("@ "):
            name, summary = (x.strip() for x in line[2:].split("|", 1))
            out = [f'.TH {name.upper()} 7 "" "zinc 4.3.4" "zinc manual"', ".SH NAME",
                   f"{name} \\- {roff(summary)}"]
            pages.append((name, out))
        elif line.startswith("## "):
            out.append(".SS " + line[3:])
        elif line.startswith("# "):
            out.append(".SH " + line[2:])
        elif not line.strip():
            para = True
            continue
        elif line.startswith("  $ "):
            out += [".nf", ".RS 4", roff(line[4:]), ".RE", ".fi"]
        elif line.startswith("- "):
            out += [".IP \\(bu 2", roff(line[2:])]
        else:
            if para and not out[-1].startswith((".SH", ".SS")):
                out.append(".PP")
            out.append(roff(line.strip()))
        para = False
    return [(name, "\n".join(lines) + "\n") for name, lines in pages]


def main():
    protos = prototypes()
    os.makedirs(os.path.join(HERE, "man3"), exist_ok=True)
    for b in list(blocks()):
        for name in b["names"]:
            with open(os.path.join(HERE, "man3", name + ".3"), "w") as f:
                f.write(page(name, b, protos))
    os.makedirs(os.path.join(HERE, "man7"), exist_ok=True)
    with open(os.path.join(HERE, "man7", "zmq_socket_options.7"), "w") as f:
        f.write(options_page())
    for name, text in section7_pages():
        with open(os.path.join(HERE, "man7", name + ".7"), "w") as f:
            f.write(text)


main()

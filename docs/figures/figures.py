#!/usr/bin/env python3
"""Writes the SVG figures of docs/designs.md into this folder.

Run `python3 docs/figures/figures.py` after changing what a figure shows; the SVGs are
committed. Each figure draws facts that live in the code, and names the file they come from:

* layers.svg              the crates and the library's layers (crates/synclab/src/lib.rs)
* counting-mutex-word.svg the counting mutex's word (lock/counting_mutex.rs: LOCKED, FAIR,
                          HANDOFF, WAITER)
* duplex-line.svg         the duplex ring's cache lines (queue/duplex/mod.rs: Pair, EndWords)
* segment-layout.svg      a segment's object (shm/segment.rs: Header, DATA_OFFSET;
                          shm/attach.rs: Entry, ENTRIES, tags; shm/shared.rs: a tuple of
                          designs, Cursor::region)

Every SVG has an opaque background, so it reads the same on GitHub's light and dark themes.
"""

from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent

INK = "#1f2328"
MUTED = "#57606a"
LINE = "#57606a"
BLUE = "#ddf4ff"
BLUE_EDGE = "#0969da"
GREEN = "#dafbe1"
GREEN_EDGE = "#1a7f37"
YELLOW = "#fff8c5"
YELLOW_EDGE = "#9a6700"
PURPLE = "#fbefff"
PURPLE_EDGE = "#8250df"
GREY = "#f6f8fa"
GREY_EDGE = "#8c959f"
RED = "#ffebe9"
RED_EDGE = "#cf222e"


class Svg:
    def __init__(self, width, height, title):
        self.width, self.height = width, height
        self.parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
            f"<title>{escape(title)}</title>",
            "<style>text{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
            f"fill:{INK}}} .m{{fill:{MUTED}}} .c{{font-family:ui-monospace,SFMono-Regular,"
            "Menlo,Consolas,monospace}</style>",
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{LINE}"/></marker></defs>',
            # The background: opaque, so the figure reads on dark themes too.
            f'<rect x="0" y="0" width="{width}" height="{height}" rx="10" fill="#ffffff" '
            f'stroke="{GREY_EDGE}"/>',
        ]

    def rect(self, x, y, w, h, fill=GREY, edge=GREY_EDGE, rx=6, dash=None, width=1.2):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" fill="{fill}" '
            f'stroke="{edge}" stroke-width="{width}"{d}/>'
        )

    def text(self, x, y, s, size=13, anchor="start", weight="normal", cls=None, italic=False):
        c = f' class="{cls}"' if cls else ""
        st = ' font-style="italic"' if italic else ""
        self.parts.append(
            f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}"{st}{c}>{escape(s)}</text>'
        )

    def line(self, x1, y1, x2, y2, arrow=False, dash=None, color=LINE, width=1.2):
        a = ' marker-end="url(#arrow)"' if arrow else ""
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" '
            f'stroke-width="{width}"{a}{d}/>'
        )

    def path(self, d, arrow=False, dash=None):
        a = ' marker-end="url(#arrow)"' if arrow else ""
        ds = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<path d="{d}" fill="none" stroke="{LINE}" stroke-width="1.2"{a}{ds}/>')

    def write(self, name):
        (HERE / name).write_text("\n".join(self.parts + ["</svg>", ""]), encoding="utf-8")


def layers():
    s = Svg(980, 590, "synclab's layers and the crates around them")
    s.text(490, 32, "synclab: the library's layers, and the crates around them", 17, "middle", "bold")
    # The library.
    s.rect(262, 50, 456, 458, fill="#ffffff", edge=INK, rx=10, dash="6 4")
    s.text(490, 72, "crates/synclab — the library (published)", 13, "middle", "bold")
    s.text(490, 90, "each layer uses only the layers below it", 11.5, "middle", cls="m", italic=True)
    layers = [
        ("pool", "thread pools behind one trait",
         "CondvarPool · LockFreePool · WorkStealingPool", GREEN, GREEN_EDGE),
        ("array", "the seed's shared array: write-once slots",
         "PollingArray · CondvarArray · LockFreeArray · LanedArray", GREEN, GREEN_EDGE),
        ("queue", "queues, sleeping, channels, deque, ring",
         "ArrayQueue · LockedQueue · EventCount · BlockingQueue · Duplex", GREEN, GREEN_EDGE),
        ("lock", "a raw lock protocol, Mutex<T, R>, Condvar",
         "FutexMutex · CountingMutex · SpinMutex · RobustMutex", GREEN, GREEN_EDGE),
        ("shm", "where a design's state lives; who is alive",
         "Heap · Shm: segments, attach table, owner death", YELLOW, YELLOW_EDGE),
        ("sync", "the world switch (the only module that knows)",
         "atomics · UnsafeCell · thread · futex · Backoff · Instant", BLUE, BLUE_EDGE),
    ]
    y = 102
    for name, what, types, fill, edge in layers:
        s.rect(278, y, 424, 58, fill=fill, edge=edge)
        s.text(292, y + 23, name, 15, weight="bold", cls="c")
        s.text(352, y + 23, what, 12.5)
        s.text(292, y + 45, types, 11.5, cls="m")
        y += 66
    sync_y = y - 66
    # The three worlds under sync.
    s.text(490, 530, "sync builds for one of three worlds", 12, "middle")
    for i, (w, flag) in enumerate([("real threads", "plain build"), ("loom", "--cfg synclab_loom"),
                                   ("shuttle", "--cfg synclab_shuttle")]):
        x = 285 + i * 140
        s.rect(x, 540, 130, 40, fill=BLUE, edge=BLUE_EDGE)
        s.text(x + 65, 557, w, 12, "middle", "bold")
        s.text(x + 65, 573, flag, 9.5, "middle", cls="c")
    s.line(490, sync_y + 58, 490, 516, arrow=True)
    # Left: verification, the zoo, the own-design example.
    s.rect(20, 102, 200, 122, fill=PURPLE, edge=PURPLE_EDGE)
    s.text(32, 124, "synclab-verification", 13, weight="bold")
    s.text(32, 144, "Model::check: one scenario,", 11.5)
    s.text(32, 160, "loom · shuttle · stress loop;", 11.5)
    s.text(32, 176, "models of every design;", 11.5)
    s.text(32, 192, "linearizability checker", 11.5)
    s.text(32, 214, "→ docs/verification.md", 11, cls="m")
    s.line(220, 163, 276, 163, arrow=True)
    s.text(248, 156, "checks", 10.5, "middle", cls="m")
    s.rect(20, 262, 200, 104, fill=RED, edge=RED_EDGE)
    s.text(32, 284, "synclab-zoo", 13, weight="bold")
    s.text(32, 304, "deliberately broken designs,", 11.5)
    s.text(32, 320, "each one change away from", 11.5)
    s.text(32, 336, "a real one (unpublished)", 11.5)
    s.text(32, 356, "→ docs/zoo.md", 11, cls="m")
    s.line(120, 262, 120, 226, arrow=True)
    s.text(126, 248, "seen failing by", 10.5, cls="m")
    s.line(220, 314, 276, 314, dash="4 3")
    s.text(248, 307, "mimics", 10.5, "middle", cls="m")
    s.rect(20, 404, 200, 88, fill=GREY, edge=GREY_EDGE)
    s.text(32, 426, "examples/own-design", 13, weight="bold")
    s.text(32, 446, "a user's design on sync,", 11.5)
    s.text(32, 462, "checked by the same harness", 11.5)
    s.text(32, 482, "→ docs/own-designs.md", 11, cls="m")
    s.line(220, 436, 276, 436, arrow=True)
    s.text(248, 429, "uses", 10.5, "middle", cls="m")
    # Right: benches, CLI, xtask.
    s.rect(760, 102, 200, 104, fill=GREY, edge=GREY_EDGE)
    s.text(772, 124, "benches", 13, weight="bold")
    s.text(772, 144, "workloads defined once,", 11.5)
    s.text(772, 160, "beside std, parking_lot,", 11.5)
    s.text(772, 176, "crossbeam, rayon, iceoryx2", 11.5)
    s.text(772, 196, "→ docs/benchmarks.md", 11, cls="m")
    s.line(760, 154, 704, 154, arrow=True)
    s.text(732, 147, "measure", 10.5, "middle", cls="m")
    s.rect(760, 244, 200, 104, fill=GREY, edge=GREY_EDGE)
    s.text(772, 266, "synclab-cli", 13, weight="bold")
    s.text(772, 286, "synclab compare (runs the", 11.5)
    s.text(772, 302, "benches); the seed's demos", 11.5)
    s.text(772, 318, "on threads and processes", 11.5)
    s.text(772, 338, "cargo run -p synclab-cli", 10.5, cls="c")
    s.line(860, 244, 860, 208, arrow=True)
    s.line(760, 296, 704, 296, arrow=True)
    s.text(732, 289, "runs", 10.5, "middle", cls="m")
    s.rect(760, 386, 200, 106, fill=GREY, edge=GREY_EDGE)
    s.text(772, 408, "cargo xtask", 13, weight="bold", cls="c")
    s.text(772, 428, "test · verify · miri · tsan", 11.5)
    s.text(772, 444, "bench · icount · audit", 11.5)
    s.text(772, 460, "mutants · surface", 11.5)
    s.text(772, 482, "CI: cargo xtask test", 11, cls="m")
    s.line(760, 438, 704, 438, arrow=True)
    s.text(732, 431, "tests", 10.5, "middle", cls="m")
    s.write("layers.svg")


def counting_mutex_word():
    s = Svg(900, 430, "The counting mutex's word")
    s.text(450, 32, "RawCountingMutex: one AtomicU32", 17, "middle", "bold")
    s.text(450, 52, "crates/synclab/src/lock/counting_mutex.rs — the constants LOCKED, FAIR, HANDOFF, WAITER",
           11.5, "middle", cls="m")
    x0, y0, h = 60, 96, 56
    count_w, bit_w = 520, 90
    # bit numbers
    s.text(x0 + 4, y0 - 8, "31", 11, cls="c")
    s.text(x0 + count_w - 4, y0 - 8, "3", 11, "end", cls="c")
    for i, b in enumerate(["2", "1", "0"]):
        s.text(x0 + count_w + bit_w * i + bit_w / 2, y0 - 8, b, 11, "middle", cls="c")
    s.rect(x0, y0, count_w, h, fill=BLUE, edge=BLUE_EDGE, rx=0)
    s.text(x0 + count_w / 2, y0 + 24, "count of registered sleepers", 14, "middle", "bold")
    s.text(x0 + count_w / 2, y0 + 44, "one WAITER (= 8) per thread between registering and deregistering",
           11.5, "middle")
    for i, (name, val, fill, edge) in enumerate([("HANDOFF", "4", PURPLE, PURPLE_EDGE),
                                                  ("FAIR", "2", YELLOW, YELLOW_EDGE),
                                                  ("LOCKED", "1", GREEN, GREEN_EDGE)]):
        x = x0 + count_w + bit_w * i
        s.rect(x, y0, bit_w, h, fill=fill, edge=edge, rx=0)
        s.text(x + bit_w / 2, y0 + 25, name, 12.5, "middle", "bold", cls="c")
        s.text(x + bit_w / 2, y0 + 44, f"= {val}", 11.5, "middle", cls="c")
    # meanings
    y = y0 + h + 24
    s.text(x0, y, "LOCKED: held.   FAIR: a waiter starves (the heir) — unlock hands the lock over, spinners stop.",
           12)
    s.text(x0, y + 18, "HANDOFF: handed over, held for the heir, which claims it.   "
           "Invariants: FAIR ⇒ LOCKED and one heir; HANDOFF ⇒ FAIR.", 12)
    # examples
    y = y + 50
    s.text(x0, y, "Words it goes through", 13.5, weight="bold")
    rows = [
        ("0", "free", "lock: one CAS"),
        ("LOCKED", "held, nobody registered", "unlock: one CAS, no system call"),
        ("LOCKED + 2·WAITER", "held, two threads registered", "unlock releases and wakes one"),
        ("2·WAITER", "free, two registered (one just woken)", "a running thread may barge in"),
        ("LOCKED + FAIR + 2·WAITER", "held; the heir starves", "unlock sets HANDOFF, wakes all"),
        ("LOCKED + FAIR + HANDOFF + 2·WAITER", "handed over", "only the heir's CAS claims it"),
    ]
    def bits(expr):
        v = 0
        for term in expr.split(" + "):
            term = term.strip()
            if term == "0":
                continue
            if "·" in term:
                n, _ = term.split("·")
                v += int(n) * 8
            else:
                v += {"LOCKED": 1, "FAIR": 2, "HANDOFF": 4, "WAITER": 8}[term]
        return v
    y += 12
    s.rect(x0, y, 790, 24 * len(rows) + 26, fill=GREY, edge=GREY_EDGE)
    s.text(x0 + 12, y + 18, "word", 11.5, weight="bold")
    s.text(x0 + 282, y + 18, "value", 11.5, weight="bold")
    s.text(x0 + 340, y + 18, "state", 11.5, weight="bold")
    s.text(x0 + 590, y + 18, "what it costs or allows", 11.5, weight="bold")
    for i, (expr, state, note) in enumerate(rows):
        yy = y + 42 + 24 * i
        s.text(x0 + 12, yy, expr, 11.5, cls="c")
        s.text(x0 + 282, yy, str(bits(expr)), 11.5, cls="c")
        s.text(x0 + 340, yy, state, 11.5)
        s.text(x0 + 590, yy, note, 11.5, cls="m")
    s.write("counting-mutex-word.svg")


def duplex_line():
    s = Svg(900, 610, "The duplex ring's cache lines")
    s.text(450, 32, "Duplex<u64>: a request and its answer in one cache line", 17, "middle", "bold")
    s.text(450, 52, "crates/synclab/src/queue/duplex/mod.rs — Pair (slot k of both directions) and EndWords, each align(64)",
           11.5, "middle", cls="m")
    # The region strip.
    x0, y0 = 50, 84
    s.text(x0, y0 - 8, "the ring's region", 12, weight="bold")
    cells = [("end 0", PURPLE, PURPLE_EDGE), ("end 1", PURPLE, PURPLE_EDGE), ("line 0", GREY, GREY_EDGE),
             ("line 1", GREY, GREY_EDGE), ("…", "#ffffff", GREY_EDGE), ("line k", YELLOW, YELLOW_EDGE),
             ("…", "#ffffff", GREY_EDGE), ("line cap−1", GREY, GREY_EDGE)]
    w = 104
    for i, (name, fill, edge) in enumerate(cells):
        s.rect(x0 + i * w, y0, w - 4, 30, fill=fill, edge=edge, rx=3)
        s.text(x0 + i * w + (w - 4) / 2, y0 + 20, name, 12, "middle", cls="c")
    s.text(x0 + 828, y0 + 48, "one 64-byte line each", 11, "end", cls="m")
    # Line k, byte by byte: 64 bytes, 13 px per byte.
    bx, by, unit, bh = 50, 170, 13, 58

    def two_line(cx, cy, first, second, size):
        s.text(cx, cy - 2, first, size, "middle", cls="c")
        s.text(cx, cy + 13, second, size, "middle", cls="c")

    s.text(bx, by - 26, "line k (T = u64)", 13, weight="bold")
    fields = [
        (0, 4, ("stamp", "[0]"), BLUE, BLUE_EDGE),
        (4, 8, ("stamp", "[1]"), GREEN, GREEN_EDGE),
        (8, 12, ("ack", "[0]"), GREEN, GREEN_EDGE),
        (12, 16, ("ack", "[1]"), BLUE, BLUE_EDGE),
        (16, 24, "value[0]", BLUE, BLUE_EDGE),
        (24, 32, "value[1]", GREEN, GREEN_EDGE),
        (32, 64, "padding (a larger T fills it, or spans more lines)", "#ffffff", GREY_EDGE),
    ]
    for a, b, name, fill, edge in fields:
        s.rect(bx + a * unit, by, (b - a) * unit, bh, fill=fill, edge=edge, rx=0)
        if isinstance(name, tuple):
            two_line(bx + (a + b) / 2 * unit, by + 28, name[0], name[1], 10.5)
        else:
            s.text(bx + (a + b) / 2 * unit, by + 34, name, 12, "middle", cls="c")
    for off in (0, 4, 8, 12, 16, 24, 32, 64):
        s.text(bx + off * unit, by - 6, str(off), 10.5, "middle", cls="c")
    # Who writes what.
    y = by + bh + 30
    s.rect(bx, y - 16, 36, 14, fill=BLUE, edge=BLUE_EDGE, rx=2)
    s.text(bx + 46, y - 4, "written only by end 0's holder: direction 0's stamp and value, direction 1's receipt", 12)
    s.rect(bx, y + 6, 36, 14, fill=GREEN, edge=GREEN_EDGE, rx=2)
    s.text(bx + 46, y + 18, "written only by end 1's holder: direction 1's stamp and value, direction 0's receipt", 12)
    y += 50
    steps = [
        "send p on direction d: check ack[d] (Acquire) says position p − cap was taken; write value[d], store",
        "stamp[d] = p + 1 (Release), record sent = p + 1.  receive p: load stamp[d] (Acquire); if it is p + 1,",
        "copy value[d] out, record received = p + 1, then store the receipt ack[d] = p + 1 (Release)",
        "a round trip: end 0 writes its request into line k; end 1 reads it and writes its answer into the same line —",
        "one line moves each way, as on the two-process spin floor (with capacity 1, the same line every round trip).",
        "No read-modify-write anywhere: the ring never sleeps.",
    ]
    for i, t in enumerate(steps):
        s.text(bx, y + 18 * i, t, 12)
    # An end's line.
    ey = y + 160
    s.text(bx, ey - 26, "end e's line (written by its holder only)", 13, weight="bold")
    efields = [
        (0, 4, "owner", PURPLE, PURPLE_EDGE),
        (4, 8, "sent", PURPLE, PURPLE_EDGE),
        (8, 12, "received", PURPLE, PURPLE_EDGE),
        (12, 64, "padding", "#ffffff", GREY_EDGE),
    ]
    for a, b, name, fill, edge in efields:
        s.rect(bx + a * unit, ey, (b - a) * unit, 40, fill=fill, edge=edge, rx=0)
        s.text(bx + (a + b) / 2 * unit, ey + 25, name, 9 if b - a < 10 else 12, "middle", cls="c")
    for off in (0, 4, 8, 12, 64):
        s.text(bx + off * unit, ey - 6, str(off), 10.5, "middle", cls="c")
    s.text(bx, ey + 62, "owner: the holder's tag (CAS to take, Release to let go).  sent and received: where a "
           "successor", 12)
    s.text(bx, ey + 80, "continues if the holder dies (in a segment); the peer never reads them.", 12)
    s.write("duplex-line.svg")


def segment_layout():
    s = Svg(900, 650, "A segment's layout")
    s.text(450, 32, "A segment: one POSIX shm object, mapped by every peer", 17, "middle", "bold")
    s.text(450, 52, "crates/synclab/src/shm/segment.rs (Header, DATA_OFFSET), shm/attach.rs (Entry, tags), shm/shared.rs (tuples) — not to scale",
           11.5, "middle", cls="m")
    x, w = 150, 420
    rows = [
        (0, "magic  \"SYNCLAB\\x01\"", 24, BLUE, BLUE_EDGE),
        (8, "format (the header's own version, 2)", 22, BLUE, BLUE_EDGE),
        (12, "ready (stored last, Release; openers Acquire)", 22, BLUE, BLUE_EDGE),
        (16, "layout hash (the design or tuple of designs, parameter size)", 24, BLUE, BLUE_EDGE),
        (24, "layout version (the design's VERSION; a tuple: of each)", 24, BLUE, BLUE_EDGE),
        (32, "object size", 24, BLUE, BLUE_EDGE),
        (40, "creator's pid (diagnostics)", 24, BLUE, BLUE_EDGE),
        (48, "mode the creator asked for", 24, BLUE, BLUE_EDGE),
        (56, "length of the parameters", 24, BLUE, BLUE_EDGE),
        (64, "parameters: one per design, in tuple order (≤ 256 bytes)", 34, BLUE, BLUE_EDGE),
        (320, "attach table: 127 entries × 24 bytes", 84, PURPLE, PURPLE_EDGE),
        (3368, "overflow flag", 22, PURPLE, PURPLE_EDGE),
        (3372, "padding to the page", 24, "#ffffff", GREY_EDGE),
        (4096, "design .0: its regions, each a header H (64-byte aligned), len × E", 56, GREEN, GREEN_EDGE),
        (None, "design .1, … (up to 4, in tuple order, placed alike by all)", 40, GREEN, GREEN_EDGE),
        (None, "end of the object (size fixed at create)", 0, None, None),
    ]
    y = 86
    positions = {}
    for off, label, h, fill, edge in rows:
        if off is not None:
            s.text(x - 10, y + 15, str(off), 11.5, "end", cls="c")
        if h == 0:
            s.line(x, y, x + w, y, width=2)
            s.text(x + w / 2, y + 18, label, 11.5, "middle", cls="m")
            break
        s.rect(x, y, w, h, fill=fill, edge=edge, rx=0)
        s.text(x + 12, y + min(h, 24) / 2 + 5 if h <= 24 else y + 20, label, 12)
        if off == 4096:
            s.text(x + 12, y + 40, "e.g. ArrayQueue<T, Shm>: H = head, tail; E = a slot (stamp, value)", 11, cls="m")
        if off is None and fill is not None:
            s.text(x + 12, y + 34, "e.g. .1 = InSegment<RobustMutex<u64, Shm>>: one region, the lock", 11, cls="m")
        positions[off] = (y, h)
        y += h
    s.text(x - 10, 80, "offset", 11, "end", weight="bold")
    # Brace labels on the left.
    s.text(20, 86 + 120, "header", 13, weight="bold")
    s.text(20, 86 + 138, "(creator writes,", 11, cls="m")
    s.text(20, 86 + 154, "openers check)", 11, cls="m")
    ty, th = positions[320]
    s.text(20, ty + 36, "who is", 13, weight="bold")
    s.text(20, ty + 52, "attached", 13, weight="bold")
    ry, rh = positions[4096]
    s.text(20, ry + 24, "data area", 13, weight="bold")
    s.text(20, ry + 40, "(DATA_OFFSET)", 11, cls="c")
    # The entry, zoomed.
    ex, ey = 600, 300
    s.line(x + w, ty + 10, ex, ey + 4, dash="4 3")
    s.line(x + w, ty + th - 10, ex, ey + 44, dash="4 3")
    fields = [("tag", 4), ("gen.", 4), ("pid", 4), ("tid", 4), ("pending", 8)]
    unit = 11
    xx = ex
    for name, n in fields:
        s.rect(xx, ey, n * unit, 48, fill=PURPLE, edge=PURPLE_EDGE, rx=0)
        s.text(xx + n * unit / 2, ey + 29, name, 9.5 if n == 4 else 11, "middle", cls="c")
        xx += n * unit
    s.text(ex, ey - 10, "entry i (24 bytes)", 12.5, weight="bold")
    notes = [
        "tag: free, being claimed, or the holder's tag",
        "gen.: bumped by every claim (the tag's high bits)",
        "pending: the holder's last announced claim",
        "pid, tid: diagnostics only",
    ]
    for i, t in enumerate(notes):
        s.text(ex, ey + 70 + 16 * i, t, 11.5)
    # The tag.
    tx, ty2 = 600, 140
    s.text(tx, ty2 - 10, "a tag (in lock words, claimed slots)", 12.5, weight="bold")
    s.rect(tx, ty2, 176, 36, fill=PURPLE, edge=PURPLE_EDGE, rx=0)
    s.text(tx + 88, ty2 + 23, "generation (22 bits)", 11, "middle", cls="c")
    s.rect(tx + 176, ty2, 96, 36, fill=PURPLE, edge=PURPLE_EDGE, rx=0)
    s.text(tx + 224, ty2 + 23, "index + 1 (7)", 11, "middle", cls="c")
    s.text(tx, ty2 + 52, "bits 28 … 7", 10.5, cls="c")
    s.text(tx + 272, ty2 + 52, "6 … 0", 10.5, "end", cls="c")
    # Liveness.
    lx, ly = 600, 480
    s.rect(lx, ly, 272, 132, fill=YELLOW, edge=YELLOW_EDGE)
    s.text(lx + 12, ly + 22, "Liveness: locks on the object", 12.5, weight="bold")
    for i, t in enumerate([
        "byte 0: a lock while the creator maps it",
        "byte 1 + i: a write lock while entry i's",
        "  thread lives (F_OFD_SETLK)",
        "a shared flock per mapping process",
        "the kernel drops them when a process",
        "  exits, is killed or execs",
    ]):
        s.text(lx + 12, ly + 44 + 15 * i, t, 11.5)
    s.write("segment-layout.svg")


if __name__ == "__main__":
    layers()
    counting_mutex_word()
    duplex_line()
    segment_layout()

#!/usr/bin/env python3
"""Writes the large-input benchmark file of issue 14: columns y, x, g, h.

    python3 scripts/make_large_csv.py ROWS OUT.csv [--seed 14] [--digits 6|17] [--levels G H]

g has 5,000 levels and h 300 unless --levels says otherwise (integer labels 1..G and 1..H, drawn
uniformly; issue 14's auto-choice and dense-budget designs use --levels 1000 50 and --levels
20000 5000; a level no row draws is simply absent), x is uniform
on (-2, 2), and y = 1 + 0.5 x + a_g + b_h + e with a_g ~ N(0, 1), b_h ~ N(0, 0.5^2) and
e ~ N(0, 1). Numbers are written with `--digits` decimals (6 by default, about 29 bytes a row;
17 gives Python's repr, the round-trip form pandas' to_csv writes). Standard library only, seeded:
the same arguments give the same bytes. Do not commit the output.
"""
import argparse
import random


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--digits", type=int, default=6, choices=[6, 17])
    parser.add_argument("--levels", type=int, nargs=2, default=[5000, 300], metavar=("G", "H"))
    args = parser.parse_args()

    rng = random.Random(args.seed)
    groups, others = args.levels
    a = [rng.gauss(0.0, 1.0) for _ in range(groups)]
    b = [rng.gauss(0.0, 0.5) for _ in range(others)]
    number = (lambda v: "%.6f" % v) if args.digits == 6 else repr
    with open(args.out, "w", newline="") as out:
        out.write("y,x,g,h\n")
        chunk = []
        for _ in range(args.rows):
            g = rng.randrange(groups)
            h = rng.randrange(others)
            x = rng.uniform(-2.0, 2.0)
            y = 1.0 + 0.5 * x + a[g] + b[h] + rng.gauss(0.0, 1.0)
            chunk.append("%s,%s,%d,%d\n" % (number(y), number(x), g + 1, h + 1))
            if len(chunk) == 100000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks the relative links of README.md and of every DocC catalog article.

DocC checks its own `<doc:...>` and ``symbol`` links, but it does not look at ordinary Markdown
links such as `[flags](Sources/MMoE/MMoE.docc/FlagReference.md#the-deeprec-table)`, which are how
the README and the cross-module references point at a file on a code host. This script resolves
each one: the file must exist, and an anchor must name a heading of that file (GitHub's rule:
lower case, punctuation dropped, spaces as hyphens). Links with a scheme (https:, doc:, ...) are
not checked. Prints one line per broken link (file:line: target) and exits 1 if there is any.

Usage: Scripts/check_doc_links.py [ROOT]   (ROOT: the repository, default the script's parent)
"""
import glob
import os
import re
import sys

LINK = re.compile(r"\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def github_slug(heading):
    """The anchor GitHub gives a heading: inline code and emphasis marks dropped, lower case,
    every character but letters, digits, spaces, hyphens and underscores removed, spaces to '-'."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def prose_lines(path):
    """(line number, text) of the lines outside fenced code blocks, inline code removed."""
    fenced = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            if not fenced:
                yield number, re.sub(r"`[^`]*`", "", line)


def anchors(path):
    """Every heading's GitHub anchor in a Markdown file, repeated headings numbered as GitHub does."""
    seen = {}
    result = set()
    for _, line in prose_lines(path):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = github_slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def check(root):
    files = [os.path.join(root, "README.md")]
    files += sorted(glob.glob(os.path.join(root, "Sources", "*", "*.docc", "**", "*.md"), recursive=True))
    broken = []
    for path in files:
        if not os.path.exists(path):
            broken.append(f"{path}: missing")
            continue
        for number, line in prose_lines(path):
            for target in LINK.findall(line):
                if SCHEME.match(target):
                    continue
                file_part, _, anchor = target.partition("#")
                resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
                where = f"{os.path.relpath(path, root)}:{number}: {target}"
                if not os.path.exists(resolved):
                    broken.append(f"{where} (no file {os.path.relpath(resolved, root)})")
                elif anchor and (not resolved.endswith(".md") or anchor not in anchors(resolved)):
                    broken.append(f"{where} (no heading with anchor #{anchor})")
    return files, broken


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    files, broken = check(os.path.abspath(root))
    for line in broken:
        print(f"broken link: {line}")
    if broken:
        return 1
    print(f"check_doc_links: {len(files)} files, every relative link resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Moves the long member-function bodies of a class template out of its class body.

Why (docs/testing-and-ci.md, "CI time"): a member defined inside the class is implicitly inline, and GCC
instantiates an inline member of an `extern template` class in every translation unit that calls it (to be
able to inline it), even at -O0 and even when it is marked noinline; a member defined after the class is
not inline and is not instantiated there. With PML_EXTERN_TEMPLATES (pml/core/instantiation.hpp) the
test files then link the one copy compiled in tests/instances/ instead of compiling every model again.

    cmake/outline_members.py HEADER CLASS [--min-lines N] [--dry-run]

For every non-template, non-static, non-constructor member function of CLASS whose body spans at least N
lines (default 8), the body moves to a definition `template <...> auto CLASS<...>::name(...) quals -> R`
placed right after the class; the declaration (with its default arguments and doc comment) stays. A
developer's tool, not part of the library; run it on a clean work tree and review the diff.
"""
import re
import sys


def skip_literal(s, i):
    """i at a quote: returns the index after the string or char literal (raw strings included)."""
    if s[i] == '"' and i > 0 and s[i - 1] == 'R':
        m = re.match(r'R"([^()\\ ]{0,16})\(', s[i - 1:])
        end = s.index(')' + m.group(1) + '"', i)
        return end + len(m.group(1)) + 2
    q = s[i]
    i += 1
    while s[i] != q:
        i += 2 if s[i] == '\\' else 1
    return i + 1


def scan(s, start, end, on_char):
    """Walks s[start:end] skipping comments and literals, calling on_char(i, c) for code characters."""
    i = start
    while i < end:
        c = s[i]
        if s.startswith('//', i):
            i = s.index('\n', i)
            continue
        if s.startswith('/*', i):
            i = s.index('*/', i) + 2
            continue
        if c in '"\'' and not (c == "'" and i > 0 and (s[i - 1].isalnum() and s[i - 1] not in 'uUL')):  # digit separators
            i = skip_literal(s, i)
            continue
        if on_char(i, c):
            return i
        i += 1
    return end


def match_brace(s, open_at):
    depth = [0]

    def f(i, c):
        if c == '{':
            depth[0] += 1
        elif c == '}':
            depth[0] -= 1
            return depth[0] == 0
        return False

    return scan(s, open_at, len(s), f)


def split_top(text, sep=','):
    parts, depth, cur = [], 0, ''
    i = 0
    while i < len(text):
        c = text[i]
        if c in '([{<':
            depth += 1
        elif c in ')]}>':
            depth -= 1
        if c == sep and depth == 0:
            parts.append(cur)
            cur = ''
        else:
            cur += c
        i += 1
    if cur.strip():
        parts.append(cur)
    return parts


def strip_default(param):
    depth = 0
    for i, c in enumerate(param):
        if c in '([{<':
            depth += 1
        elif c in ')]}>':
            depth -= 1
        elif c == '=' and depth == 0 and param[i + 1:i + 2] != '=' and param[i - 1:i] not in '=!<>':
            return param[:i].rstrip()
    return param.rstrip()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    min_lines = 8
    if '--min-lines' in sys.argv:
        min_lines = int(sys.argv[sys.argv.index('--min-lines') + 1])
        args.remove(str(min_lines))
    path, cls = args
    s = open(path).read()
    m = re.search(r'^(template <(.*)>)\s*\n?\s*(?:class|struct) ' + re.escape(cls) + r'\b[^;{]*\{', s, re.M)
    if not m:
        sys.exit(f'{path}: class template {cls} not found')
    tparams = [strip_default(p).strip() for p in split_top(m.group(2))]
    tnames = [re.split(r'\s+', p)[-1].lstrip('.') for p in tparams]
    out_template = 'template <' + ', '.join(tparams) + '>'
    qual = f'{cls}<{", ".join(tnames)}>'
    open_at = m.end() - 1
    close_at = match_brace(s, open_at)
    # statements at depth 1 of the class body
    moves = []
    depth = [0]
    stmt = [open_at + 1]

    parens = [0]

    def f(i, c):
        if c == '(':
            parens[0] += 1
        elif c == ')':
            parens[0] -= 1
        elif c == '{' and parens[0] > 0:  # a brace in a default argument, e.g. `= {}`
            depth[0] += 1
        elif c == '}' and parens[0] > 0:
            depth[0] -= 1
        elif c == '{':
            if depth[0] == 0:
                header = s[stmt[0]:i]
                body_end = match_brace(s, i)
                consider(header, stmt[0], i, body_end)
                depth[0] = 0
                stmt[0] = body_end + 1
                f.skip_to = body_end
                return True
            depth[0] += 1
        elif c in '})':
            pass
        elif c == ';' and depth[0] == 0:
            stmt[0] = i + 1
        elif c == ':' and depth[0] == 0 and re.search(r'\b(public|private|protected)\s*$', s[stmt[0]:i]):
            stmt[0] = i + 1
        return False

    def consider(header, hstart, brace, body_end):
        # header: comments + signature; find the signature's first code line
        lines = header.split('\n')
        code_from = 0
        for k, line in enumerate(lines):
            t = line.strip()
            if t and not t.startswith('//'):
                code_from = k
                break
        else:
            return
        sig_text = '\n'.join(lines[code_from:])
        sig_start = hstart + sum(len(l) + 1 for l in lines[:code_from])
        sig = sig_text.strip()
        if s[brace:body_end + 1].count('\n') + 1 < min_lines:
            return
        if re.match(r'(template\b|static\b|friend\b|constexpr\b|struct\b|class\b|enum\b|union\b|using\b|explicit\b)', sig):
            return
        if '//' in sig or '/*' in sig:
            return
        mm = re.match(r'^(?:\[\[[^\]]*\]\]\s*)?(?:(?:inline|virtual)\s+)*(.*?)\b(\w+)\s*\((.*)\)\s*((?:const|noexcept(?:\([^)]*\))?|override|final|&&|&|\s)*)$', sig, re.S)
        if not mm:
            return
        ret, name, params, quals = mm.group(1).strip(), mm.group(2), mm.group(3), mm.group(4).strip()
        if name == cls or name.startswith('operator') or not ret or ret.endswith('::') or ret in ('auto', 'decltype(auto)'):
            return
        if re.search(r'\)\s*:', sig):  # a constructor's initialiser list
            return
        quals_out = re.sub(r'\b(override|final)\b', '', quals).strip()
        params_out = ', '.join(strip_default(p).strip() for p in split_top(params))
        definition = (f'{out_template}\nauto {qual}::{name}({params_out}){(" " + quals_out) if quals_out else ""} -> {ret} '
                      + s[brace:body_end + 1])
        moves.append((sig_start, body_end + 1, sig_text.rstrip() + ';', definition, name))

    i = open_at + 1
    while i < close_at:
        f.skip_to = None
        j = scan(s, i, close_at, f)
        if j >= close_at:
            break
        i = (f.skip_to + 1) if f.skip_to is not None else j + 1
    if not moves:
        sys.exit(f'{path}: nothing to move in {cls}')
    class_end = s.index(';', close_at) + 1
    new = s[:moves[0][0]]
    for k, (a, b, decl, _, _) in enumerate(moves):
        new += decl
        new += s[b:moves[k + 1][0]] if k + 1 < len(moves) else s[b:class_end]
    new += '\n'
    marker = cls + "'s longer members, defined out of the class"
    if marker not in s:
        new += '\n\n// ' + marker + ' so that an extern template instantiation of it\n'
        new += '// is not compiled again in every file that calls them (cmake/outline_members.py).\n'
    new += '\n\n'.join(d for *_, d, _ in moves) + '\n'
    new += s[class_end:]
    print(f'{path}: {cls}: moved {len(moves)}: ' + ', '.join(n for *_, n in moves))
    if '--dry-run' not in sys.argv:
        open(path, 'w').write(new)


if __name__ == '__main__':
    main()

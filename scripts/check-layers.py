#!/usr/bin/env python3
"""Checks the layers of lib/ (docs/architecture.md), from the #include lines:

1. A pure module never reaches Asio, Beast, SQLiteCpp or yaml-cpp, directly or
   through any project header it includes (transitively). Link dependencies
   cannot hide these headers: they all sit in /usr/include.
2. A module includes only modules below it (the DEPS of lib/CMakeLists.txt).
3. No file includes itself through a cycle of project headers.

Usage: scripts/check-layers.py [REPO]   (exit status 1 on any violation)
       scripts/check-layers.py --list-pure [REPO]   (the pure modules' .cpp files)
"""
import os
import re
import sys

# file (relative to lib/) -> module; the first pattern that matches wins.
MODULES = [
    (r"^core/", "core"),
    (r"^config/config_loader\.", "config_yaml"),
    (r"^config/", "config"),
    (r"^rules/", "rules"),
    (r"^sources/", "sources"),
    (r"^psa/(cw_codec|cw_sweep|cw_callbacks|failure|request)\.", "psa_codec"),
    (r"^psa/", "psa"),
    (r"^sync/(engine|reverse_loop|timer)\.", "sync"),
    (r"^sync/", "sync_core"),
    (r"^store/", "store"),
    (r"^ops/(metrics|admin_routes)\.", "ops_core"),
    (r"^ops/", "ops"),
    (r"^intake/", "intake"),
    (r"^asio_impl\.cpp$", "asio"),
]

# module -> the modules it may use directly (the layer diagram).
DEPS = {
    "core": [],
    "config": ["core"],
    "rules": ["config"],
    "sources": ["core"],
    "psa_codec": ["core"],
    "ops_core": ["core"],
    "sync_core": ["rules", "sources", "psa_codec"],
    "config_yaml": ["rules"],
    "store": ["core"],
    "psa": ["psa_codec", "config"],
    "sync": ["sync_core", "store", "psa"],
    "ops": ["ops_core", "sync", "config"],
    "intake": ["sources", "store", "psa", "sync", "ops"],
    "asio": [],
}

PURE = {"core", "config", "rules", "sources", "psa_codec", "ops_core", "sync_core"}
FORBIDDEN_IN_PURE = ("boost/asio", "boost/beast", "SQLiteCpp", "yaml-cpp")

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def module_of(rel):
    for pattern, module in MODULES:
        if re.search(pattern, rel):
            return module
    return None


def closure(module, seen=None):
    seen = set() if seen is None else seen
    for d in DEPS[module]:
        if d not in seen:
            seen.add(d)
            closure(d, seen)
    return seen


def main():
    args = sys.argv[1:]
    list_pure = "--list-pure" in args
    args = [a for a in args if a != "--list-pure"]
    repo = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lib = os.path.join(repo, "lib")
    files = {}
    for root, _, names in os.walk(lib):
        for n in names:
            if n.endswith((".hpp", ".cpp")):
                rel = os.path.relpath(os.path.join(root, n), lib)
                files[rel] = [m.groups() for m in map(INCLUDE.match, open(os.path.join(root, n), encoding="utf-8"))
                              if m]
    if list_pure:
        # The pure modules' translation units, for scripts/check-style.sh.
        for rel in sorted(files):
            if rel.endswith(".cpp") and module_of(rel) in PURE:
                print(f"lib/{rel}")
        return 0
    errors = []
    for rel in sorted(files):
        if module_of(rel) is None:
            errors.append(f"lib/{rel}: belongs to no module (add it to MODULES in scripts/check-layers.py)")

    # 2. module dependencies
    for rel, incs in sorted(files.items()):
        mod = module_of(rel)
        if mod is None:
            continue
        allowed = closure(mod) | {mod}
        for kind, path in incs:
            if kind != '"':
                continue
            if path not in files:
                if not path.startswith("support/"):
                    errors.append(f"lib/{rel}: includes \"{path}\", which is not a file of lib/")
                continue
            target = module_of(path)
            if target not in allowed:
                errors.append(f"lib/{rel} ({mod}) includes \"{path}\" ({target}): {mod} may use only "
                              f"{', '.join(sorted(allowed - {mod})) or 'nothing'}")

    # 1. pure modules reach no IO library, through any chain of project headers
    def reach(rel, chain, seen):
        for kind, path in files.get(rel, []):
            if kind == "<":
                if path.startswith(FORBIDDEN_IN_PURE):
                    yield chain + [f"<{path}>"]
            elif path in files and path not in seen:
                seen.add(path)
                yield from reach(path, chain + [path], seen)

    for rel in sorted(files):
        if module_of(rel) in PURE:
            for chain in reach(rel, [rel], {rel}):
                errors.append(f"lib/{rel} is pure but reaches an IO library: {' -> '.join(chain)}")
                break

    # 3. include cycles
    state = {}

    def visit(rel, stack):
        state[rel] = "open"
        for kind, path in files.get(rel, []):
            if kind != '"' or path not in files:
                continue
            if state.get(path) == "open":
                cycle = stack[stack.index(path):] + [path] if path in stack else [rel, path]
                errors.append("include cycle: " + " -> ".join(cycle))
            elif path not in state:
                visit(path, stack + [path])
        state[rel] = "done"

    for rel in sorted(files):
        if rel not in state:
            visit(rel, [rel])

    for e in errors:
        print(e)
    if errors:
        print(f"check-layers: {len(errors)} problem(s)")
        return 1
    print(f"check-layers: {len(files)} files of lib/ keep their layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())

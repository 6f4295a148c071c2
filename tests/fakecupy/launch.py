"""Kernel launches for the fake CuPy: what `RawKernel.__call__` checks, strictly, then a NumPy
emulation of the kernel instance.

`parse_kernels` reads the `__global__` signatures out of the CUDA source, `resolve` turns a name
expression (`attn_fwd<float,1,64,64,64,128>`) into concrete C parameter types, and `launch`
checks grid, block, shared memory and every argument against them before running the
emulation, which writes the kernel's outputs into the output arrays' NumPy memory (`._a`).

A real launch checks far less: CuPy passes whatever it is given, so a Python int for an `int`
parameter (sent as an 8-byte `long long`) silently shifts every later argument. Here each such
mistake raises, naming the kernel, the argument and what was expected.

The emulations compute in float64 from the references in tinygrad_lite/ops (conv_ref.py,
attention_ref.py) and store into the storage type; they cover exactly the output tiles the
grid covers, so a launcher with a short grid leaves the same rows untouched as on a GPU.
"""
from __future__ import annotations

import ast
import collections
import functools
import re
import types
from typing import Callable, NamedTuple

import numpy as np

from .array import FakeArray

LAUNCHES: collections.Counter = collections.Counter()   # kernel base name -> launches

MAX_THREADS = 1024
MAX_GRID = (2**31 - 1, 65535, 65535)
MAX_BLOCK = (1024, 1024, 64)
DEFAULT_SMEM = 48 * 1024            # per block without the opt-in
MAX_SMEM = 227 * 1024               # per block on sm_90 with the opt-in
ALIGN = 16                          # the attention kernels load 16-byte vectors
LOG2E = 1.4426950408889634


def reset() -> None:
    """Forget the launch counts."""
    LAUNCHES.clear()


# -- C types ---------------------------------------------------------------------------------
# Storage dtype of each pointee / scalar type. bfloat16 has no NumPy dtype: its bits travel
# as uint16 (an ml_dtypes "bfloat16" array is accepted as well).
_C_DTYPES = {
    "float": np.float32, "double": np.float64, "__half": np.float16, "half": np.float16,
    "__nv_bfloat16": np.uint16, "nv_bfloat16": np.uint16,
    "char": np.int8, "signed char": np.int8, "unsigned char": np.uint8,
    "short": np.int16, "unsigned short": np.uint16, "int": np.int32, "unsigned int": np.uint32,
    "long": np.int64, "unsigned long": np.uint64, "long long": np.int64,
    "unsigned long long": np.uint64, "int8_t": np.int8, "uint8_t": np.uint8,
    "int16_t": np.int16, "uint16_t": np.uint16, "int32_t": np.int32, "uint32_t": np.uint32,
    "int64_t": np.int64, "uint64_t": np.uint64, "size_t": np.uint64, "bool": np.bool_,
}
_BF16 = ("__nv_bfloat16", "nv_bfloat16")
_SIZEOF = {t: np.dtype(d).itemsize for t, d in _C_DTYPES.items()}


def _normalize_type(text: str) -> str:
    """'unsigned' -> 'unsigned int', 'long long int' -> 'long long', 'signed int' -> 'int'."""
    words = text.split()
    if words and words[0] == "signed" and len(words) > 1:
        words = words[1:]
    if words in (["unsigned"], ["signed"]):
        words = ["unsigned", "int"] if words == ["unsigned"] else ["int"]
    if len(words) > 1 and words[-1] == "int" and words[-2] in ("long", "short"):
        words = words[:-1]
    return " ".join(words)


# -- parsing ---------------------------------------------------------------------------------
class Param(NamedTuple):
    """One kernel parameter: `const T* __restrict__ a_src` -> type 'const T*', base 'T'."""
    type: str
    base: str
    pointer: bool
    const: bool          # the pointee is const (what the kernel promises not to write)
    restrict: bool
    name: str


class Kernel(NamedTuple):
    name: str
    template: tuple      # ((kind, name), ...): ("typename", "T"), ("int", "MODE")
    params: tuple        # Param, ...
    launch_bounds: tuple | None   # the __launch_bounds__ arguments as written, or None
    dynamic_smem: bool   # the body declares `extern __shared__`
    extern_c: bool
    constants: dict      # integer constants of the source and its includes (read-only)


_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
# a directive with its continuation lines: the TL_INSTANTIATE_ALL macros only repeat the
# signatures, and keeping them would make every kernel appear twice
_DIRECTIVE = re.compile(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", re.M)
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)
_CONSTEXPR = re.compile(r"\bconstexpr\s+(?:unsigned\s+|signed\s+)?(?:int|long long|long|"
                        r"short)\s+([^;]+);")
_KEPT_BLOCK = re.compile(r'(?:\bnamespace\s*\w*|\bextern\s*"C"|\benum\b[^;{}()]*)\s*$')
_ENUM = re.compile(r"\benum\s*(?:class\s+)?\w*\s*(?::\s*\w+\s*)?\{([^}]*)\}")
_RESTRICT = {"__restrict__", "__restrict", "restrict"}


def _strip(source: str) -> str:
    return _DIRECTIVE.sub(" ", _COMMENT.sub(" ", source))


def _matching(text: str, i: int, open_: str, close: str) -> int:
    """Index just past the bracket that closes the one at text[i]."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_:
            depth += 1
        elif text[j] == close:
            depth -= 1
            if depth == 0:
                return j + 1
    raise ValueError(f"parse_kernels: unbalanced {open_!r} at offset {i}")


def _split_top(text: str) -> list[str]:
    """Split on commas outside (), <>, [], {}."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "(<[{":
            depth += 1
        elif ch in ")>]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    last = "".join(cur).strip()
    return parts + [last] if last or parts else parts


def _parse_param(text: str, kernel: str) -> Param:
    tokens = re.findall(r"[A-Za-z_]\w*|\*|&|\[|\]", text)
    restrict = any(t in _RESTRICT for t in tokens)
    tokens = [t for t in tokens if t not in _RESTRICT and t != "volatile"]
    if "&" in tokens or "[" in tokens:
        raise ValueError(f"parse_kernels: {kernel}: parameter {text!r} is not a value or pointer")
    if len(tokens) < 2 or not re.match(r"[A-Za-z_]", tokens[-1]):
        raise ValueError(f"parse_kernels: {kernel}: cannot read parameter {text!r}")
    name, tokens = tokens[-1], tokens[:-1]
    stars = tokens.count("*")
    if stars > 1:
        raise ValueError(f"parse_kernels: {kernel}: {text!r}: pointers to pointers not handled")
    head = tokens[:tokens.index("*")] if stars else tokens
    const = "const" in head
    base = _normalize_type(" ".join(t for t in head if t != "const"))
    ctype = ("const " if const else "") + base + ("*" if stars else "")
    return Param(ctype, base, bool(stars), const, restrict, name)


def _parse_template(text: str, kernel: str) -> tuple:
    out = []
    for part in _split_top(text):
        part = part.split("=")[0].strip()        # defaults: a name expression gives every value
        words = part.split()
        if len(words) < 2:
            raise ValueError(f"parse_kernels: {kernel}: cannot read template parameter {part!r}")
        kind = "typename" if words[0] in ("typename", "class") else _normalize_type(
            " ".join(words[:-1]))
        out.append((kind, words[-1]))
    return tuple(out)


def _extern_c_ranges(text: str) -> list[tuple[int, int]]:
    ranges = []
    for m in re.finditer(r'extern\s*"C"\s*\{', text):
        ranges.append((m.end(), _matching(text, m.end() - 1, "{", "}")))
    return ranges


def _eval_int(expr: str, env: dict) -> int:
    """A C integer constant expression of literals and known names (C division truncates)."""
    expr = re.sub(r"\b\w+::", "", expr)                       # tl::CONV_NT -> CONV_NT
    expr = re.sub(r"\b(\d+)[uUlL]+\b", r"\1", expr)

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in env:
            return env[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
                   ast.Div: lambda: int(a / b) if abs(a) < 2**52 else a // b,
                   ast.Mod: lambda: a - b * int(a / b), ast.LShift: lambda: a << b,
                   ast.RShift: lambda: a >> b}
            if type(node.op) in ops:
                return ops[type(node.op)]()
        raise ValueError(f"not an integer constant expression: {expr!r}")
    return ev(ast.parse(expr.strip(), mode="eval"))


def _namespace_level(text: str) -> str:
    """`text` with the insides of functions and structs blanked: their constexprs are local
    (conv_igemm_body's BM, FwdSmem's Q) and must not shadow anything."""
    out, i = [], 0
    while True:
        j = text.find("{", i)
        if j < 0:
            return "".join(out) + text[i:]
        out.append(text[i:j + 1])
        if _KEPT_BLOCK.search(text[max(0, j - 200):j]):
            i = j + 1
        else:
            end = _matching(text, j, "{", "}")
            out.append(" " * (end - j - 2) + "}")
            i = end


def _constants(text: str, env: dict) -> None:
    """`constexpr int A = 64, B = A / 2;` and `enum { X = 0, Y, ... }` into env."""
    text = _namespace_level(text)
    for m in _CONSTEXPR.finditer(text):
        for part in _split_top(m.group(1)):
            if "=" in part:
                name, expr = (s.strip() for s in part.split("=", 1))
                try:
                    env[name] = _eval_int(expr, env)
                except (ValueError, SyntaxError):
                    pass                                      # not an integer we can use
    for m in _ENUM.finditer(text):
        nxt = 0
        for part in _split_top(m.group(1)):
            if not part:
                continue
            name, _, expr = (s.strip() for s in part.partition("="))
            try:
                nxt = _eval_int(expr, env) if expr else nxt
            except (ValueError, SyntaxError):
                break
            env[name] = nxt
            nxt += 1


def _source_constants(source: str) -> dict:
    """Constants of the source and of the headers it includes from the kernel directory."""
    env: dict = {}
    try:
        from tinygrad_lite.backend.kernels import kernel_path  # noqa: PLC0415
    except ImportError:
        kernel_path = None
    for inc in _INCLUDE.findall(source):
        if kernel_path is None:
            break
        try:
            _constants(_strip(kernel_path(inc).read_text()), env)
        except FileNotFoundError:
            pass                                              # a system header: no constants
    _constants(_strip(source), env)
    return env


def parse_kernels(source: str) -> dict:
    """{kernel name: Kernel} for every `__global__` kernel defined (with a body) in `source`."""
    return dict(_parse_cached(source))


@functools.lru_cache(maxsize=16)
def _parse_cached(source: str) -> tuple:
    text = _strip(source)
    constants = types.MappingProxyType(_source_constants(source))   # shared by every kernel
    externs = _extern_c_ranges(text)
    kernels = {}
    for m in re.finditer(r"\b__global__\b", text):
        pos, bounds = m.end(), None
        while True:                                           # qualifiers up to the name
            q = re.compile(r"\s*(void|static|inline|__forceinline__|__noinline__|"
                           r"__launch_bounds__)\b").match(text, pos)
            if not q:
                break
            pos = q.end()
            if q.group(1) == "__launch_bounds__":
                open_ = text.index("(", pos)
                close = _matching(text, open_, "(", ")")
                bounds = tuple(s.strip() for s in _split_top(text[open_ + 1:close - 1]))
                pos = close
        nm = re.compile(r"\s*([A-Za-z_]\w*)\s*\(").match(text, pos)
        if not nm:
            continue                              # `name<...>(...)`: an explicit instantiation
        name = nm.group(1)
        open_ = nm.end() - 1
        close = _matching(text, open_, "(", ")")
        rest = re.compile(r"\s*\{").match(text, close)
        if not rest:
            continue                                          # a declaration only
        body = text[rest.end() - 1:_matching(text, rest.end() - 1, "{", "}")]
        before = text[:m.start()].rstrip()
        extern_c = bool(re.search(r'extern\s*"C"$', before)) or any(
            a <= m.start() < b for a, b in externs)
        if extern_c:
            before = re.sub(r'extern\s*"C"$', "", before).rstrip()
        tpl = ()
        if before.endswith(">"):
            t = re.search(r"template\s*<([^<>]*)>$", before)
            if t:
                tpl = _parse_template(t.group(1), name)
        inner = text[open_ + 1:close - 1].strip()
        params = () if inner in ("", "void") else tuple(
            _parse_param(p, name) for p in _split_top(inner))
        kernels[name] = Kernel(name, tpl, params, bounds, "extern __shared__" in
                               re.sub(r"\s+", " ", body), extern_c, constants)
    return tuple(kernels.items())


# -- resolving a name expression -------------------------------------------------------------
class Instance(NamedTuple):
    """A kernel with its template arguments in place."""
    kernel: Kernel
    name_expression: str
    types: dict          # template type parameter -> C type
    values: dict         # template value parameter -> int
    params: tuple        # Param with concrete types
    threads: int | None  # the __launch_bounds__ thread count, where the kernel has one

    @property
    def env(self) -> dict:
        return {**self.kernel.constants, **self.values}


_NAME_EXPR = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:<(.*)>)?\s*$", re.S)


def _int_literal(text: str) -> int | None:
    text = text.strip()
    if text in ("true", "false"):
        return int(text == "true")
    m = re.fullmatch(r"([+-]?)\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*", text)
    return None if m is None else int(m.group(1) + m.group(2), 0)


def resolve(kernels: dict, name_expression: str) -> Instance:
    """Substitute the template arguments of `name_expression` into its kernel's parameters."""
    m = _NAME_EXPR.match(name_expression)
    if not m or m.group(1) not in kernels:
        known = ", ".join(sorted(kernels))
        raise ValueError(f"launch: {name_expression!r} is not a kernel of this source "
                         f"(kernels: {known})")
    kern = kernels[m.group(1)]
    args = _split_top(m.group(2)) if m.group(2) is not None else []
    if len(args) != len(kern.template) or (m.group(2) is not None and not kern.template):
        want = "<" + ", ".join(f"{k} {n}" for k, n in kern.template) + ">"
        raise ValueError(f"launch: {name_expression!r} is not a known instance: {kern.name} "
                         f"takes {len(kern.template)} template arguments {want}, "
                         f"got {len(args)}")
    type_args, values = {}, {}
    for (kind, pname), arg in zip(kern.template, args):
        if kind == "typename":
            ctype = _normalize_type(arg)
            if ctype not in _C_DTYPES:
                raise ValueError(f"launch: {name_expression!r} is not a known instance: "
                                 f"template argument {pname} = {arg!r} is not a known C type")
            type_args[pname] = ctype
        else:
            v = _int_literal(arg)
            if v is None:
                raise ValueError(f"launch: {name_expression!r} is not a known instance: "
                                 f"template argument {pname} ({kind}) = {arg!r} is not an "
                                 f"integer literal")
            values[pname] = v
    params = []
    for p in kern.params:
        base = type_args.get(p.base, p.base)
        params.append(p._replace(base=base, type=("const " if p.const else "") + base
                                 + ("*" if p.pointer else "")))
    threads = None
    if kern.launch_bounds:
        threads = _eval_int(kern.launch_bounds[0], {**kern.constants, **values})
    inst = Instance(kern, name_expression.strip(), type_args, values, tuple(params), threads)
    spec = _SPECS.get(kern.name)
    if spec is not None and spec.instance_check is not None:
        problem = spec.instance_check(inst)
        if problem:
            raise ValueError(f"launch: {name_expression!r} is not a known instance: {problem}")
    return inst


# -- the launch checks -----------------------------------------------------------------------
def _dims(label: str, what: str, dims, limits) -> tuple[int, int, int]:
    if not isinstance(dims, tuple) or not 1 <= len(dims) <= 3:
        raise TypeError(f"{label}: {what} must be a tuple of 1 to 3 ints, got {dims!r}")
    out = []
    for axis, (d, lim) in enumerate(zip(dims, limits)):
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"{label}: {what}[{axis}] must be an int, got {type(d).__name__} "
                            f"{d!r}")
        if not 1 <= int(d) <= lim:
            raise ValueError(f"{label}: {what}[{axis}] = {int(d)} is outside [1, {lim}]")
        out.append(int(d))
    return tuple(out + [1] * (3 - len(out)))


def _describe(value) -> str:
    if isinstance(value, FakeArray):
        return f"a device array of dtype {value._a.dtype} and shape {value._a.shape}"
    if isinstance(value, np.ndarray):
        return f"a host numpy array of dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"np.{type(value).__name__}({value})"
    return f"Python {type(value).__name__} {value!r}"


def _is_null(value) -> bool:
    return isinstance(value, np.generic) and value.dtype == np.uint64 and int(value) == 0


def _storage_ok(dtype: np.dtype, base: str) -> bool:
    if base == "void":
        return True
    if base in _BF16:
        return dtype == np.uint16 or dtype.name == "bfloat16"
    return base in _C_DTYPES and dtype == np.dtype(_C_DTYPES[base])


def _check_pointer(label: str, i: int, p: Param, value) -> None:
    where = f"{label}: argument {i} ({p.name}, {p.type})"
    if _is_null(value):
        return                                 # the emulation refuses it where it must read it
    if not isinstance(value, FakeArray):
        extra = " (a host array never reaches the GPU; move it with cupy.asarray)" if \
            isinstance(value, np.ndarray) else ""
        raise TypeError(f"{where}: expected a device array or np.uint64(0) (null), got "
                        f"{_describe(value)}{extra}")
    a = value._a
    if not _storage_ok(a.dtype, p.base):
        want = "uint16 (bfloat16 bits)" if p.base in _BF16 else (
            np.dtype(_C_DTYPES[p.base]).name if p.base in _C_DTYPES else "?")
        raise TypeError(f"{where}: expected a {want} array, got {a.dtype}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{where}: the array of shape {a.shape} and strides {a.strides} is not "
                         f"C-contiguous; the kernel indexes it as flat memory")
    if a.size and a.ctypes.data % ALIGN:
        raise ValueError(f"{where}: base address is {a.ctypes.data % ALIGN} bytes past a "
                         f"{ALIGN}-byte boundary (a view into a larger array?); the kernel "
                         f"needs {ALIGN}-byte aligned pointers")


# What CuPy sends for a Python scalar, whatever the parameter's type: right only by luck, so
# refused here everywhere (a Python bool is fine for a bool parameter)
_PYTHON_SCALARS = {bool: ("bool", np.bool_, "bool"), int: ("int", np.int64, "long long"),
                   float: ("float", np.float64, "double")}


def _check_scalar(label: str, i: int, p: Param, value) -> None:
    where = f"{label}: argument {i} ({p.name}, {p.type})"
    if p.base not in _C_DTYPES or p.base in _BF16:
        raise TypeError(f"{where}: scalar parameters of type {p.base} are not emulated")
    want = np.dtype(_C_DTYPES[p.base])
    if type(value) in _PYTHON_SCALARS and not (p.base == "bool" and type(value) is bool):
        kind, sent, ctype = _PYTHON_SCALARS[type(value)]
        effect = ("happens to fit this parameter" if np.dtype(sent) == want else
                  f"corrupts this {p.base} parameter and every argument after it")
        raise TypeError(f"{where}: expected np.{want.name}, got Python {kind} {value!r}: CuPy "
                        f"would pass it as a C {ctype} ({np.dtype(sent).itemsize} bytes), which "
                        f"{effect}; pass np.{want.name}({value!r})")
    if type(value) is bool:
        return
    if not isinstance(value, np.generic) or isinstance(value, np.ndarray):
        raise TypeError(f"{where}: expected np.{want.name}, got {_describe(value)}")
    if value.dtype != want:
        raise TypeError(f"{where}: expected np.{want.name} ({want.itemsize} bytes), got "
                        f"{_describe(value)} ({value.dtype.itemsize} bytes)")


def _check_args(label: str, inst: Instance, args) -> dict:
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"{label}: args must be a tuple, got {type(args).__name__}")
    params = inst.params
    if len(args) != len(params):
        sig = ", ".join(f"{p.type} {p.name}" for p in params)
        raise TypeError(f"{label}: expected {len(params)} arguments ({sig}), got {len(args)}")
    for i, (p, v) in enumerate(zip(params, args)):
        (_check_pointer if p.pointer else _check_scalar)(label, i, p, v)
    # __restrict__ promises the compiler that a written array overlaps no other argument
    arrays = [(i, p, v) for i, (p, v) in enumerate(zip(params, args))
              if p.pointer and isinstance(v, FakeArray) and v._a.size]
    for x, (i, p, a) in enumerate(arrays):
        for j, q, b in arrays[x + 1:]:
            if (p.restrict or q.restrict) and not (p.const and q.const) and \
                    np.may_share_memory(a._a, b._a):
                raise ValueError(f"{label}: arguments {i} ({p.name}) and {j} ({q.name}) overlap "
                                 f"in memory, but the kernel declares them __restrict__ and "
                                 f"writes at least one")
    return {p.name: v for p, v in zip(params, args)}


def _check_block(label: str, inst: Instance, spec, block) -> None:
    n = block[0] * block[1] * block[2]
    if n > MAX_THREADS:
        raise ValueError(f"{label}: block {block} has {n} threads, more than {MAX_THREADS}")
    if spec.one_d_block and block[1:] != (1, 1):
        raise ValueError(f"{label}: block {block}: the kernel uses only threadIdx.x, so the "
                         f"block must be one-dimensional")
    if inst.threads is not None and n != inst.threads:
        raise ValueError(f"{label}: block {block} has {n} threads, but the kernel is built for "
                         f"exactly {inst.threads} (__launch_bounds__ / its thread-count "
                         f"template argument)")


def _check_grid(label: str, spec, grid) -> None:
    for axis in range(3):
        if axis >= spec.grid_axes and grid[axis] != 1:
            raise ValueError(f"{label}: grid {grid}: the kernel does not read blockIdx."
                             f"{'xyz'[axis]}, so the extra blocks would repeat its work")


def _check_smem(label: str, inst: Instance, spec, shared_mem, opt_in) -> None:
    for what, v in (("shared_mem", shared_mem), ("max_dynamic_shared_size_bytes", opt_in)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise TypeError(f"{label}: {what} must be a non-negative int, got {v!r}")
    static = spec.static_smem(inst) if spec.static_smem else 0
    if static + shared_mem > MAX_SMEM or static + opt_in > MAX_SMEM:
        raise ValueError(f"{label}: {shared_mem} bytes of dynamic shared memory (+ {static} "
                         f"static, opt-in {opt_in}) exceed the {MAX_SMEM} bytes a block can have")
    if static + shared_mem > DEFAULT_SMEM and opt_in < shared_mem:
        raise ValueError(f"{label}: {shared_mem} bytes of dynamic shared memory (+ {static} "
                         f"static) exceed {DEFAULT_SMEM} without the opt-in: set "
                         f"max_dynamic_shared_size_bytes >= {shared_mem} first "
                         f"(it is {opt_in})")
    if inst.kernel.dynamic_smem and spec.dynamic_smem:
        need = spec.dynamic_smem(inst)
        if shared_mem < need:
            raise ValueError(f"{label}: the kernel lays out {need} bytes of dynamic shared "
                             f"memory (extern __shared__), but shared_mem = {shared_mem}")


def launch(source: str, name_expression: str, grid: tuple, block: tuple, args: tuple,
           shared_mem: int = 0, max_dynamic_shared_size_bytes: int = 0, stream=None) -> None:
    """Check one RawKernel launch of `name_expression` from `source`, then emulate it."""
    inst = resolve(parse_kernels(source), name_expression)
    label = inst.name_expression
    spec = _SPECS.get(inst.kernel.name)
    if spec is None:
        raise NotImplementedError(f"{label}: fake cupy has no emulation of this kernel")
    grid = _dims(label, "grid", grid, MAX_GRID)
    block = _dims(label, "block", block, MAX_BLOCK)
    _check_block(label, inst, spec, block)
    _check_grid(label, spec, grid)
    values = _check_args(label, inst, args)
    _check_smem(label, inst, spec, shared_mem, max_dynamic_shared_size_bytes)
    spec.emulate(_Call(inst, label, grid, block, values))
    LAUNCHES[inst.kernel.name] += 1


# -- storage <-> float64 ---------------------------------------------------------------------
def bf16_bits_to_float(bits: np.ndarray) -> np.ndarray:
    """uint16 bfloat16 bits -> float32 (exact)."""
    return (np.asarray(bits).astype(np.uint32) << 16).view(np.float32)


def float_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float64 -> bfloat16 bits, rounded to nearest even straight from float64 (no double
    rounding through float32)."""
    x = np.asarray(x, np.float64)
    bits = x.view(np.uint64)
    drop = np.uint64(52 - 7)                          # float64 keeps 52 mantissa bits, bf16 7
    half = np.uint64(1) << (drop - np.uint64(1))
    odd = (bits >> drop) & np.uint64(1)
    # both np.where branches are computed everywhere: their overflows are not the result's
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = ((bits + half - np.uint64(1) + odd) >> drop << drop).view(np.float64)
        tiny = np.abs(x) < 2.0**-126                  # bf16 subnormals: fixed step 2**-133
        rounded = np.where(tiny, np.rint(x * 2.0**133) * 2.0**-133, rounded)
        rounded = np.where(np.isinf(x), x, rounded)
        f32 = rounded.astype(np.float32)              # exact, or +-inf past the bf16 range
    out = (f32.view(np.uint32) >> 16).astype(np.uint16)
    return np.where(np.isnan(x), np.uint16(0x7FC0), out).astype(np.uint16)


def _to_float64(a: np.ndarray, ctype: str) -> np.ndarray:
    if ctype in _BF16:
        a = a.view(np.uint16) if a.dtype.name == "bfloat16" else a
        return bf16_bits_to_float(a).astype(np.float64)
    return a.astype(np.float64)


def _from_float64(x: np.ndarray, ctype: str, dtype: np.dtype) -> np.ndarray:
    if ctype in _BF16:
        return float_to_bf16_bits(x).view(dtype) if dtype.name == "bfloat16" else \
            float_to_bf16_bits(x)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(x).astype(dtype)


class _Call:
    """One checked launch as the emulations see it: typed reads and tile-masked writes."""

    def __init__(self, inst: Instance, label: str, grid, block, values: dict):
        self.inst, self.label, self.grid, self.block, self.values = (inst, label, grid, block,
                                                                     values)
        self._param = {p.name: (i, p) for i, p in enumerate(inst.params)}

    def scalar(self, name: str) -> int | float:
        v = self.values[name]
        return float(v) if isinstance(v, np.floating) else int(v)

    def fail(self, msg: str) -> ValueError:
        return ValueError(f"{self.label}: {msg}")

    def _array(self, name: str, count: int, verb: str) -> tuple[np.ndarray, Param]:
        i, p = self._param[name]
        v = self.values[name]
        if not isinstance(v, FakeArray):
            raise self.fail(f"argument {i} ({name}) is null, but with these arguments the "
                            f"kernel {verb}s it")
        if v._a.size < count:
            raise self.fail(f"argument {i} ({name}) has {v._a.size} elements, but with these "
                            f"arguments and this grid the kernel {verb}s {count} (it would "
                            f"run past the end)")
        return v._a, p

    def read(self, name: str, count: int) -> np.ndarray:
        """The first `count` elements of a pointer argument, as float64 (or int64)."""
        if count <= 0:
            return np.zeros(0)                         # nothing is dereferenced: null is fine
        a, p = self._array(name, count, "read")
        flat = a.reshape(-1)[:count]
        if p.base in ("float", "double", "__half", "half") or p.base in _BF16:
            return _to_float64(flat, p.base)
        return flat.astype(np.int64)

    def write(self, name: str, values: np.ndarray, mask=None, add: bool = False) -> None:
        """Store float64 `values` into the first values.size elements where `mask` holds;
        add=True accumulates (the kernel's atomicAdd) into what is there."""
        values = np.asarray(values, np.float64).reshape(-1)
        if values.size == 0:
            return
        a, p = self._array(name, values.size, "write")
        old = a.reshape(-1)[:values.size].copy()
        new = values
        if add:
            new = _to_float64(old, p.base) + values
        new = _from_float64(new, p.base, a.dtype)
        if mask is not None:
            new = np.where(np.asarray(mask).reshape(-1), new, old)
        flat = a.reshape(-1).copy()
        flat[:values.size] = new
        a[...] = flat.reshape(a.shape)                 # `a` may be a view: write through it


class _Spec(NamedTuple):
    emulate: Callable
    grid_axes: int                   # blockIdx axes the kernel reads
    one_d_block: bool = True
    static_smem: Callable | None = None
    dynamic_smem: Callable | None = None
    instance_check: Callable | None = None


# -- conv2d.cu -------------------------------------------------------------------------------
_MODES = {"float": (0, 1), "__half": (2,), "__nv_bfloat16": (2,)}


def _check_type_mode(inst: Instance) -> str | None:
    t = inst.types["T"]
    if t not in _MODES:
        return f"T = {t}: the kernels are built for float, __half and __nv_bfloat16"
    if "MODE" in inst.values and inst.values["MODE"] not in _MODES[t]:
        return (f"MODE = {inst.values['MODE']} has no tensor-core traits for T = {t} "
                f"(allowed: {_MODES[t]})")
    return None


def _conv_check(inst: Instance) -> str | None:
    problem = _check_type_mode(inst)
    if problem is None and inst.values["PASS"] not in (0, 1, 2):
        problem = f"PASS = {inst.values['PASS']} (0 forward, 1 data, 2 weight gradient)"
    return problem


def _conv_static_smem(inst: Instance) -> int:
    """`smem[max(AB_BYTES, C_BYTES)]` of conv_igemm_body."""
    env, size = inst.env, _SIZEOF[inst.types["T"]]
    bm, bn, bk, pad = env["CONV_BM"], env["CONV_BN"], env["CONV_BK"], env["PAD"]
    return max((bm + bn) * (bk + pad) * size, bm * (bn + pad) * 4)


_CONV_SIZES = ("N", "C", "H", "W", "K", "R", "S", "P", "Q", "sh", "sw", "ph", "pw", "dh", "dw",
               "G", "k_per_split")


def _emulate_conv(c: _Call) -> None:
    """conv2d_igemm<T, MODE, PASS>: the pass's GEMM per group, over the tiles the grid covers.

    Block (x, y, z) owns GEMM rows [x*BM, x*BM + BM), columns [y*BN, y*BN + BN) of group
    z % G and reduces over k in [split*k_per_split, +k_per_split) with split = z // G."""
    from tinygrad_lite.ops import conv_ref  # noqa: PLC0415  (only where a conv is launched)
    pass_id = c.inst.values["PASS"]
    N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, G, kps = (c.scalar(n) for n in _CONV_SIZES)
    if min(C, K, R, S, G, sh, sw, dh, dw) < 1 or min(N, ph, pw) < 0 or C % G or K % G:
        raise c.fail(f"sizes N={N} C={C} K={K} R={R} S={S} G={G}, stride {sh, sw}, padding "
                     f"{ph, pw}, dilation {dh, dw} do not describe a grouped convolution")
    p_want = (H + 2 * ph - dh * (R - 1) - 1) // sh + 1
    q_want = (W + 2 * pw - dw * (S - 1) - 1) // sw + 1
    if (P, Q) != (p_want, q_want) or min(P, Q) < 1:
        raise c.fail(f"output size P, Q = {P, Q}, but H, W = {H, W} with this kernel size, "
                     f"stride, padding and dilation give {p_want, q_want}")
    cg, kg = C // G, K // G
    gm, gn, gk = [(N * P * Q, kg, cg * R * S), (N * H * W, cg, kg * R * S),
                  (kg, cg * R * S, N * P * Q)][pass_id]
    env = c.inst.env
    gx, gy, gz = c.grid
    # which k each group reduces over, from the splits that grid z gives it
    kmask = np.zeros((G, gk), bool)
    splits = [[] for _ in range(G)]
    for z in range(gz):
        g, split = z % G, z // G
        splits[g].append(split)
        if kps > 0:                                   # else k_end <= k_begin: no k at all
            kmask[g, split * kps:min(gk, (split + 1) * kps)] = True
    if pass_id != 2:
        for g, s in enumerate(splits):
            if len(s) > 1:
                raise c.fail(f"grid z = {gz} gives group {g} {len(s)} splits, but PASS "
                             f"{pass_id} stores (not adds) its tile, so the splits would race; "
                             f"grid z must be G = {G}")
    g_cov = np.array([bool(s) for s in splits])
    m_cov = np.arange(gm) < gx * env["CONV_BM"]
    j_cov = np.arange(gn) < gy * env["CONV_BN"]
    geom = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=G)
    x_n, y_n, w_n = N * C * H * W, N * K * P * Q, K * cg * R * S
    if gm == 0 or gn == 0:
        return
    if pass_id == 0:
        x = c.read("a_src", x_n).reshape(N, C, H, W)
        w = c.read("b_src", w_n).reshape(K, gk)
        w = w * np.repeat(kmask, kg, axis=0)
        y = conv_ref.conv2d_reference_forward(x, w.reshape(K, cg, R, S), **geom)
        chan = np.repeat(g_cov, kg) & np.tile(j_cov, G)
        mask = m_cov.reshape(N, 1, P * Q) & chan[None, :, None]
        c.write("out", y, mask)
    elif pass_id == 1:
        dy = c.read("a_src", y_n).reshape(N, K, P, Q)
        w = c.read("b_src", w_n).reshape(K, cg, R, S)
        w = w * kmask.reshape(K, 1, R, S)             # k = (kk, r, s) of channel g*Kg + kk
        dx = conv_ref.conv2d_reference_backward_data(dy, w, (N, C, H, W), **geom)
        chan = np.repeat(g_cov, cg) & np.tile(j_cov, G)
        mask = m_cov.reshape(N, 1, H * W) & chan[None, :, None]
        c.write("out", dx, mask)
    else:
        dy = c.read("a_src", y_n).reshape(N, K, P, Q)
        x = c.read("b_src", x_n).reshape(N, C, H, W)
        keep = np.repeat(kmask, kg, axis=0).reshape(K, N, P, Q).transpose(1, 0, 2, 3)
        dw = conv_ref.conv2d_reference_backward_weight(x, dy * keep, (K, cg, R, S), **geom)
        rows = np.repeat(g_cov, kg) & np.tile(m_cov, G)
        c.write("out_acc", dw, rows[:, None] & j_cov[None, :], add=True)


def _emulate_cast(c: _Call) -> None:
    """out[i] = T(acc[i]) for i < n: a grid-stride loop, so any grid covers every i."""
    n = c.scalar("n")
    if n > 0:
        c.write("out", c.read("acc", n))


def _cast_check(inst: Instance) -> str | None:
    t = inst.types["T"]
    return None if t in _MODES else f"T = {t}: from_f<T> exists for float, __half, __nv_bfloat16"


# -- attention.cu ----------------------------------------------------------------------------
def _attn_check(inst: Instance) -> str | None:
    problem = _check_type_mode(inst)
    if problem:
        return problem
    v = inst.values
    d, bm, bn, nt = v["D"], v["BM"], v["BN"], v["NT"]
    if d % 32 or bn % 32 or nt % 32:
        return f"D = {d}, BN = {bn}, NT = {nt}: the warps walk D and BN in steps of 32 lanes"
    tiles = [(bm, bn), (bm, d)] + ([(bn, d)] if inst.kernel.name == "attn_bwd" else [])
    for m, n in tiles:
        if v["MODE"] == 0:
            if (m * n) % nt or nt % n:
                return f"BlockAcc<float, 0, {m}, {n}, {nt}> fails its static_assert"
        elif m % 16 or n % 16 or ((m // 16) * (n // 16)) % (nt // 32):
            return f"BlockAcc<{inst.types['T']}, {v['MODE']}, {m}, {n}, {nt}> fails its " \
                   f"static_assert"
    if _attn_smem(inst) > MAX_SMEM:
        return f"its shared memory ({_attn_smem(inst)} bytes) fails the static_assert"
    return None


def _attn_smem(inst: Instance) -> int:
    """FwdSmem / BwdSmem<T, D, BM, BN>::BYTES of attention.cu."""
    v, size, pad = inst.values, _SIZEOF[inst.types["T"]], inst.kernel.constants["PAD"]
    d, bm, bn = v["D"], v["BM"], v["BN"]
    ldt, lds = d + pad, bn + pad
    alias = size == 4
    if inst.kernel.name == "attn_fwd":
        s = (bm + 2 * bn) * ldt * size
        o = s + bm * lds * 4 + (0 if alias else bm * lds * size)
        return o + bm * ldt * 4 + 3 * bm * 4
    s = (2 * bn + 2 * bm) * ldt * size
    acc = s + bm * lds * 4 + bm * lds * 4 + (0 if alias else 2 * bm * lds * size)
    return acc + max(bm, bn) * ldt * 4 + 2 * bm * 4


def _kv_end(c: _Call, nbh: int, heads: int, lk: int) -> np.ndarray:
    """Visible keys of each (b, h): min(Lk, max(kv_len[b], 0)), or Lk where kv_len is null."""
    if _is_null(c.values["kv_len"]):
        return np.full(nbh, lk, np.int64)
    kl = c.read("kv_len", (nbh - 1) // heads + 1)
    return np.clip(kl[np.arange(nbh) // heads], 0, lk)


def _attn_sizes(c: _Call) -> tuple[int, int, int, int, int]:
    heads, lq, lk = c.scalar("H"), c.scalar("Lq"), c.scalar("Lk")
    if heads < 1 or lq < 0 or lk < 0:
        raise c.fail(f"H = {heads}, Lq = {lq}, Lk = {lk}: H must be >= 1 (the kernel divides "
                     f"blockIdx.y by it), the lengths >= 0")
    return heads, lq, lk, c.inst.values["D"], c.grid[1]


def _keep(lq: int, lk: int, kend: np.ndarray, causal: bool) -> np.ndarray:
    """[bh, Lq, Lk] scores that count: key j < kend[bh], and j <= i when causal."""
    keep = np.arange(lk)[None, None, :] < kend[:, None, None]
    if causal:
        keep = keep & (np.arange(lk)[None, :] <= np.arange(lq)[:, None])[None]
    return keep


def _emulate_attn_fwd(c: _Call) -> None:
    """attn_fwd: block (x, y) owns query rows [x*BM, x*BM + BM) of (b, h) = y; O = softmax(S) V
    and LSE = logsumexp(S) in natural-log units, with S = Q K^T * scale_log2 / log2(e)."""
    from tinygrad_lite.ops import attention_ref  # noqa: PLC0415
    heads, lq, lk, d, nbh = _attn_sizes(c)
    rows = min(lq, c.grid[0] * c.inst.values["BM"])       # blocks run in reverse, same cover
    q = c.read("Qg", nbh * lq * d).reshape(nbh, lq, d)[:, :rows]
    k = c.read("Kg", nbh * lk * d).reshape(nbh, lk, d)
    v = c.read("Vg", nbh * lk * d).reshape(nbh, lk, d)
    kend = _kv_end(c, nbh, heads, lk)
    scale = c.scalar("scale_log2") / LOG2E                 # scores arrive in log2 units
    o, lse = attention_ref.attention_reference_forward(q, k, v, scale=scale,
                                                       causal=bool(c.scalar("causal")),
                                                       kv_len=kend)
    o_full, lse_full = np.zeros((nbh, lq, d)), np.zeros((nbh, lq))
    o_full[:, :rows], lse_full[:, :rows] = o, lse
    covered = np.arange(lq) < rows
    c.write("Og", o_full, np.broadcast_to(covered[None, :, None], o_full.shape))
    c.write("LSEg", lse_full, np.broadcast_to(covered[None, :], lse_full.shape))


def _emulate_attn_delta(c: _Call) -> None:
    """attn_bwd_delta: delta[row] = sum_d O[row, d] dO[row, d]; block x owns rows [8x, 8x + 8)."""
    d = c.inst.values["D"]
    rows = min(c.scalar("rows"), c.grid[0] * (c.block[0] // 32))   # one warp per row
    if rows <= 0:
        return
    o = c.read("Og", rows * d).reshape(rows, d)
    do = c.read("dOg", rows * d).reshape(rows, d)
    c.write("delta", (o * do).sum(-1))


def _emulate_attn_bwd(c: _Call) -> None:
    """attn_bwd: block (x, y) owns keys [x*BN, x*BN + BN) of (b, h) = y and sweeps every query:
    P = exp(S*scale - LSE) (0 where LSE = -inf or masked), dV = P^T dO, dS = P (dO V^T - delta),
    dK = scale dS^T Q, and dq_acc += scale dS K (atomics, so it accumulates)."""
    heads, lq, lk, d, nbh = _attn_sizes(c)
    cols = min(lk, c.grid[0] * c.inst.values["BN"])
    scale = c.scalar("scale")
    q = c.read("Qg", nbh * lq * d).reshape(nbh, lq, d)
    k = c.read("Kg", nbh * lk * d).reshape(nbh, lk, d)[:, :cols]
    v = c.read("Vg", nbh * lk * d).reshape(nbh, lk, d)[:, :cols]
    do = c.read("dOg", nbh * lq * d).reshape(nbh, lq, d)
    lse = c.read("LSEg", nbh * lq).reshape(nbh, lq, 1)
    delta = c.read("deltag", nbh * lq).reshape(nbh, lq, 1)
    kend = _kv_end(c, nbh, heads, lk)
    s = (q @ k.swapaxes(-1, -2)) * scale
    with np.errstate(invalid="ignore", over="ignore"):
        p = np.where(lse == -np.inf, 0.0, np.exp(s - lse))
    p = np.where(_keep(lq, cols, kend, bool(c.scalar("causal"))), p, 0.0)
    ds = p * (do @ v.swapaxes(-1, -2) - delta)
    c.write("dQacc", scale * (ds @ k), add=True)
    key_cov = np.broadcast_to((np.arange(lk) < cols)[None, :, None], (nbh, lk, d))
    dk, dv = np.zeros((nbh, lk, d)), np.zeros((nbh, lk, d))
    dk[:, :cols] = scale * (ds.swapaxes(-1, -2) @ q)
    dv[:, :cols] = p.swapaxes(-1, -2) @ do
    c.write("dKg", dk, key_cov)
    c.write("dVg", dv, key_cov)


def _delta_check(inst: Instance) -> str | None:
    t, d = inst.types["T"], inst.values["D"]
    if t not in _MODES:
        return f"T = {t}: to_f exists for float, __half, __nv_bfloat16"
    return None if d % 32 == 0 else f"D = {d}: each lane takes D / 32 columns"


_SPECS = {
    "conv2d_igemm": _Spec(_emulate_conv, 3, static_smem=_conv_static_smem,
                          instance_check=_conv_check),
    "conv2d_cast": _Spec(_emulate_cast, 1, instance_check=_cast_check),
    "attn_fwd": _Spec(_emulate_attn_fwd, 2, dynamic_smem=_attn_smem, instance_check=_attn_check),
    "attn_bwd_delta": _Spec(_emulate_attn_delta, 1, instance_check=_delta_check),
    "attn_bwd": _Spec(_emulate_attn_bwd, 2, dynamic_smem=_attn_smem, instance_check=_attn_check),
    "attn_cast": _Spec(_emulate_cast, 1, instance_check=_cast_check),
}

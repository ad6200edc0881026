"""A recursive-descent parser from query text to a syntax tree (no Python ``eval`` anywhere).

Grammar, loosest binding first::

    query      := or_expr END
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum ((CMP sum)+ | ["not"] "in" list)?      CMP: == != < <= > >=
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "%") unary)*
    unary      := ("-" | "+") unary | primary
    primary    := NUMBER | STRING | "true" | "false" | NAME "(" [or_expr ("," or_expr)*] ")"
                | NAME | `quoted name` | "(" or_expr ")" | list
    list       := "[" [literal ("," literal)*] "]"             literal: [-]NUMBER, STRING, true, false

Comparisons chain as in Python: ``0.2 < confidence <= 0.8``.

>>> unparse(parse('prediction != label and has_token(text, "not")'))
"((prediction != label) and has_token(text, 'not'))"
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deepscope.errors import ArgumentTypeError
from deepscope.evaluate.query.errors import QueryError
from deepscope.evaluate.query.lexer import KEYWORDS, Token, tokenize

__all__ = [
    "parse",
    "unparse",
    "Node",
    "Literal",
    "Column",
    "ListLiteral",
    "Unary",
    "Binary",
    "Compare",
    "Membership",
    "Logical",
    "Not",
    "Call",
    "children",
]

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
# Deeper nesting is refused with a QueryError rather than left to hit Python's recursion limit:
# each parenthesis costs the parser about ten frames, each tree level the evaluator about three.
_MAX_DEPTH = 50
_MAX_TREE_DEPTH = 100


@dataclass(frozen=True)
class Node:
    """A node of the syntax tree; ``position`` (0-based, ignored by ``==``) is where it starts."""

    position: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True)
class Literal(Node):
    value: int | float | str | bool


@dataclass(frozen=True)
class Column(Node):
    name: str


@dataclass(frozen=True)
class ListLiteral(Node):
    items: tuple[Literal, ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" or "+"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * / %
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare(Node):
    ops: tuple[str, ...]
    operands: tuple[Node, ...]  # one more than ops


@dataclass(frozen=True)
class Membership(Node):
    operand: Node
    items: ListLiteral
    negated: bool


@dataclass(frozen=True)
class Logical(Node):
    op: str  # "and" or "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


def parse(query: str) -> Node:
    """The syntax tree of ``query``; a ``QueryError`` says where it went wrong and what was expected.

    >>> parse("a = 1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    deepscope.evaluate.query.errors.QueryError: query: expected '==' to compare, got '=' at column 3. ...
      a = 1
        ^
    """
    if not isinstance(query, str):
        raise ArgumentTypeError("query", "the text of a query", query)
    if not query.strip():
        raise QueryError(query, 0, "a condition such as 'prediction != label'", "an empty query")
    tree = _Parser(query, tokenize(query)).parse()
    if _tree_depth(tree) > _MAX_TREE_DEPTH:
        raise QueryError(query, 0, f"a query at most {_MAX_TREE_DEPTH} operations deep", "a deeper one")
    return tree


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-nodes of ``node``."""
    if isinstance(node, (Unary, Not)):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, (Compare, Logical)):
        return node.operands
    if isinstance(node, Membership):
        return (node.operand, node.items)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, ListLiteral):
        return node.items
    return ()


def _tree_depth(tree: Node) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children(node))
    return deepest


class _Parser:
    def __init__(self, query: str, tokens: list[Token]):
        self.query = query
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    # -- token helpers ------------------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, kind: str, *texts: str) -> bool:
        token = self.current
        if token.kind != kind:
            return False
        return not texts or (token.value if kind == "keyword" else token.text) in texts

    def expect(self, kind: str, text: str, what: str) -> Token:
        if not self.at(kind, text):
            self.fail(what)
        return self.advance()

    def fail(self, expected: str, token: Token | None = None) -> None:
        token = token or self.current
        got = "the end of the query" if token.kind == "end" else repr(token.text)
        raise QueryError(self.query, token.position, expected, got)

    def nested(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise QueryError(self.query, self.current.position, f"at most {_MAX_DEPTH} levels of nesting", "more")

    # -- grammar ------------------------------------------------------------------------------

    def parse(self) -> Node:
        node = self.or_expr()
        if not self.at("end"):
            if self.at("op", *COMPARISONS) or self.at("keyword", "in"):
                self.fail("'and', 'or' or the end of the query (use parentheses to combine comparisons)")
            self.fail("'and', 'or', an operator or the end of the query")
        return node

    def or_expr(self) -> Node:
        return self.logical("or", self.and_expr)

    def and_expr(self) -> Node:
        return self.logical("and", self.not_expr)

    def logical(self, op: str, operand: object) -> Node:
        start = self.current.position
        parts = [operand()]  # type: ignore[operator]
        while self.at("keyword", op):
            self.advance()
            parts.append(operand())  # type: ignore[operator]
        return parts[0] if len(parts) == 1 else Logical(op, tuple(parts), position=start)

    def not_expr(self) -> Node:
        if self.at("keyword", "not"):
            token = self.advance()
            self.nested()
            operand = self.not_expr()
            self.depth -= 1
            return Not(operand, position=token.position)
        return self.comparison()

    def comparison(self) -> Node:
        start = self.current.position
        left = self.sum()
        if self.at("keyword", "in") or (self.at("keyword", "not") and self.peek_is_in()):
            negated = self.at("keyword", "not")
            if negated:
                self.advance()
            self.advance()
            return Membership(left, self.list_literal(), negated, position=start)
        ops, operands = [], [left]
        while self.at("op", *COMPARISONS):
            ops.append(self.advance().text)
            operands.append(self.sum())
        if not ops:
            return left
        return Compare(tuple(ops), tuple(operands), position=start)

    def peek_is_in(self) -> bool:
        following = self.tokens[self.index + 1]
        return following.kind == "keyword" and following.value == "in"

    def sum(self) -> Node:
        return self.binary(("+", "-"), self.product)

    def product(self) -> Node:
        return self.binary(("*", "/", "%"), self.unary)

    def binary(self, ops: tuple[str, ...], operand: object) -> Node:
        start = self.current.position
        node = operand()  # type: ignore[operator]
        while self.at("op", *ops):
            op = self.advance().text
            node = Binary(op, node, operand(), position=start)  # type: ignore[operator]
        return node

    def unary(self) -> Node:
        if self.at("op", "-", "+"):
            token = self.advance()
            self.nested()
            operand = self.unary()
            self.depth -= 1
            return Unary(token.text, operand, position=token.position)
        return self.primary()

    def primary(self) -> Node:
        token = self.current
        if token.kind in ("number", "string"):
            self.advance()
            return Literal(token.value, position=token.position)  # type: ignore[arg-type]
        if self.at("keyword", "true", "false"):
            self.advance()
            return Literal(token.value == "true", position=token.position)
        if token.kind == "name":
            self.advance()
            if self.at("op", "(") and not token.text.startswith("`"):
                return self.call(token)
            return Column(str(token.value), position=token.position)
        if self.at("op", "("):
            self.advance()
            self.nested()
            node = self.or_expr()
            self.depth -= 1
            self.expect("op", ")", "')' to close the '(' at column " + str(token.position + 1))
            return node
        if self.at("op", "["):
            self.fail("a value; a list [...] can only follow 'in'")
        self.fail("a value (a column, number, text in quotes, true/false, a function call or '(')")
        raise AssertionError("unreachable")  # fail() always raises

    def call(self, name: Token) -> Node:
        self.advance()  # "("
        self.nested()
        args: list[Node] = []
        if not self.at("op", ")"):
            args.append(self.or_expr())
            while self.at("op", ","):
                self.advance()
                args.append(self.or_expr())
        self.depth -= 1
        self.expect("op", ")", f"',' or ')' to close the call of {name.text}()")
        return Call(name.text, tuple(args), position=name.position)

    def list_literal(self) -> ListLiteral:
        start = self.expect("op", "[", "'[' to start the list of values after 'in'")
        items: list[Literal] = []
        if not self.at("op", "]"):
            items.append(self.literal())
            while self.at("op", ","):
                self.advance()
                items.append(self.literal())
        self.expect("op", "]", "',' or ']' to close the list started at column " + str(start.position + 1))
        return ListLiteral(tuple(items), position=start.position)

    def literal(self) -> Literal:
        token = self.current
        sign = 1
        if self.at("op", "-", "+"):
            sign = -1 if token.text == "-" else 1
            self.advance()
            if self.current.kind != "number":
                self.fail("a number after the sign")
        current = self.current
        if current.kind == "number":
            self.advance()
            return Literal(sign * current.value, position=token.position)  # type: ignore[operator]
        if current.kind == "string":
            self.advance()
            return Literal(current.value, position=current.position)  # type: ignore[arg-type]
        if self.at("keyword", "true", "false"):
            self.advance()
            return Literal(current.value == "true", position=current.position)
        self.fail("a literal value in the list (a number, text in quotes, true or false)")
        raise AssertionError("unreachable")


def unparse(node: Node) -> str:
    """Query text for a tree, fully parenthesised; ``parse(unparse(t)) == t``."""
    if isinstance(node, Literal):
        if isinstance(node.value, bool):
            return "true" if node.value else "false"
        if isinstance(node.value, str):
            escaped = node.value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t")
            return f"'{escaped}'"
        magnitude = abs(node.value)
        text = "1e999" if magnitude == float("inf") else repr(magnitude)
        return f"(-{text})" if _negative(node) else text
    if isinstance(node, Column):
        plain = node.name.isidentifier() and node.name.isascii() and node.name.lower() not in KEYWORDS
        return node.name if plain else f"`{node.name}`"
    if isinstance(node, ListLiteral):
        return "[" + ", ".join(unparse(i).strip("()") if _negative(i) else unparse(i) for i in node.items) + "]"
    if isinstance(node, Unary):
        return f"({node.op}{unparse(node.operand)})"
    if isinstance(node, Binary):
        return f"({unparse(node.left)} {node.op} {unparse(node.right)})"
    if isinstance(node, Compare):
        parts = [unparse(node.operands[0])]
        for op, operand in zip(node.ops, node.operands[1:], strict=True):
            parts += [op, unparse(operand)]
        return "(" + " ".join(parts) + ")"
    if isinstance(node, Membership):
        keyword = "not in" if node.negated else "in"
        return f"({unparse(node.operand)} {keyword} {unparse(node.items)})"
    if isinstance(node, Logical):
        return "(" + f" {node.op} ".join(unparse(o) for o in node.operands) + ")"
    if isinstance(node, Not):
        return f"(not {unparse(node.operand)})"
    if isinstance(node, Call):
        return f"{node.name}(" + ", ".join(unparse(a) for a in node.args) + ")"
    raise TypeError(f"not a query node: {node!r}")


def _negative(node: Literal) -> bool:
    return isinstance(node.value, (int, float)) and not isinstance(node.value, bool) and node.value < 0

// Parser and evaluator of ConnectWise condition strings (see conditions.hpp).
#include "conditions.hpp"

#include <algorithm>
#include <optional>

#include "util.hpp"

namespace cwsim {

namespace {

struct literal {
  enum class type { null, number, string, boolean, datetime };
  type t = type::null;
  double number = 0;
  std::string text;
  bool boolean = false;
  std::int64_t seconds = 0;
};

enum class op { eq, ne, lt, le, gt, ge, contains, like, in };

}  // namespace

struct condition::node {
  enum class kind { compare, conj, disj };
  kind k = kind::compare;
  // compare
  field_def field;
  op o = op::eq;
  bool negated = false;
  std::vector<literal> values;
  // conj / disj
  std::shared_ptr<const node> lhs, rhs;
};

namespace {

using json = nlohmann::json;
using node = condition::node;

struct token {
  enum class type { word, string, number, datetime, lparen, rparen, comma, symbol, end };
  type t = type::end;
  std::string text;
  std::size_t pos = 0;
};

bool is_word_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_word_char(char c) { return is_word_start(c) || (c >= '0' && c <= '9') || c == '/'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

[[noreturn]] void fail(std::string_view what, std::size_t pos) {
  throw condition_error("Invalid conditions: " + std::string(what) + " at offset " + std::to_string(pos));
}

std::vector<token> tokenize(std::string_view s) {
  std::vector<token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
      continue;
    }
    token tok;
    tok.pos = i;
    if (is_word_start(c)) {
      const std::size_t start = i;
      while (i < s.size() && is_word_char(s[i])) ++i;
      tok.t = token::type::word;
      tok.text = s.substr(start, i - start);
    } else if (c == '"' || c == '\'') {
      const std::size_t close = s.find(c, i + 1);
      if (close == std::string_view::npos) fail("unterminated string", i);
      tok.t = token::type::string;
      tok.text = s.substr(i + 1, close - i - 1);
      i = close + 1;
    } else if (c == '[') {
      const std::size_t close = s.find(']', i + 1);
      if (close == std::string_view::npos) fail("unterminated [datetime]", i);
      tok.t = token::type::datetime;
      tok.text = s.substr(i + 1, close - i - 1);
      i = close + 1;
    } else if (is_digit(c) || (c == '-' && i + 1 < s.size() && is_digit(s[i + 1]))) {
      const std::size_t start = i++;
      while (i < s.size() && is_digit(s[i])) ++i;
      if (i + 1 < s.size() && s[i] == '.' && is_digit(s[i + 1])) {
        ++i;
        while (i < s.size() && is_digit(s[i])) ++i;
      }
      if (i < s.size() && is_word_char(s[i])) fail("malformed number", start);
      tok.t = token::type::number;
      tok.text = s.substr(start, i - start);
    } else if (c == '(' || c == ')' || c == ',') {
      tok.t = c == '(' ? token::type::lparen : c == ')' ? token::type::rparen : token::type::comma;
      tok.text = std::string(1, c);
      ++i;
    } else if (c == '=' || c == '<' || c == '>' || c == '!') {
      std::size_t n = 1;
      if (i + 1 < s.size() && (s[i + 1] == '=' || (c == '<' && s[i + 1] == '>'))) n = 2;
      tok.t = token::type::symbol;
      tok.text = s.substr(i, n);
      if (tok.text == "!") fail("unexpected '!'", i);
      i += n;
    } else {
      fail(std::string("unexpected character '") + c + "'", i);
    }
    out.push_back(std::move(tok));
  }
  token end;
  end.pos = s.size();
  out.push_back(end);
  return out;
}

std::string_view kind_name(value_kind k) {
  switch (k) {
    case value_kind::integer: return "a number";
    case value_kind::string: return "a string enclosed with double or single quotes";
    case value_kind::boolean: return "the keyword true or false";
    case value_kind::datetime: return "a datetime enclosed in square brackets";
  }
  return "a value";
}

class parser {
 public:
  parser(std::string_view text, const field_schema& schema) : tokens_(tokenize(text)), schema_(schema) {}

  std::shared_ptr<const node> parse() {
    auto root = parse_or();
    if (peek().t != token::type::end) fail("unexpected '" + peek().text + "'", peek().pos);
    return root;
  }

 private:
  const token& peek() const { return tokens_[index_]; }
  const token& next() { return tokens_[index_ < tokens_.size() - 1 ? index_++ : index_]; }
  bool peek_word(std::string_view w) const { return peek().t == token::type::word && ci_equal(peek().text, w); }

  static std::shared_ptr<const node> combine(node::kind k, std::shared_ptr<const node> l,
                                             std::shared_ptr<const node> r) {
    auto n = std::make_shared<node>();
    n->k = k;
    n->lhs = std::move(l);
    n->rhs = std::move(r);
    return n;
  }

  std::shared_ptr<const node> parse_or() {
    auto lhs = parse_and();
    while (peek_word("or")) {
      next();
      lhs = combine(node::kind::disj, lhs, parse_and());
    }
    return lhs;
  }

  std::shared_ptr<const node> parse_and() {
    auto lhs = parse_primary();
    while (peek_word("and")) {
      next();
      lhs = combine(node::kind::conj, lhs, parse_primary());
    }
    return lhs;
  }

  std::shared_ptr<const node> parse_primary() {
    if (peek().t == token::type::lparen) {
      next();
      auto inner = parse_or();
      if (peek().t != token::type::rparen) fail("expected ')'", peek().pos);
      next();
      return inner;
    }
    return parse_comparison();
  }

  std::shared_ptr<const node> parse_comparison() {
    const token& name = next();
    if (name.t == token::type::end) fail("expected a field name but the conditions ended", name.pos);
    if (name.t != token::type::word) fail("expected a field name, found '" + name.text + "'", name.pos);
    const field_def* field = find_field(schema_, name.text);
    if (field == nullptr) fail("unknown field '" + name.text + "'", name.pos);

    auto n = std::make_shared<node>();
    n->field = *field;
    const token& op_tok = next();
    if (op_tok.t == token::type::symbol) {
      if (op_tok.text == "=")
        n->o = op::eq;
      else if (op_tok.text == "!=" || op_tok.text == "<>")
        n->o = op::ne;
      else if (op_tok.text == "<")
        n->o = op::lt;
      else if (op_tok.text == "<=")
        n->o = op::le;
      else if (op_tok.text == ">")
        n->o = op::gt;
      else if (op_tok.text == ">=")
        n->o = op::ge;
      else
        fail("unknown operator '" + op_tok.text + "'", op_tok.pos);
    } else if (op_tok.t == token::type::word) {
      const token* word = &op_tok;
      if (ci_equal(word->text, "not")) {
        n->negated = true;
        word = &next();
        if (word->t != token::type::word) fail("expected contains, like or in after 'not'", word->pos);
      }
      if (ci_equal(word->text, "contains"))
        n->o = op::contains;
      else if (ci_equal(word->text, "like"))
        n->o = op::like;
      else if (ci_equal(word->text, "in"))
        n->o = op::in;
      else
        fail("unknown operator '" + word->text + "'", word->pos);
    } else {
      fail("expected an operator after '" + name.text + "'", op_tok.pos);
    }

    if ((n->o == op::contains || n->o == op::like) && field->kind != value_kind::string)
      fail("operator contains/like needs a string field, '" + field->name + "' is not", op_tok.pos);

    if (n->o == op::in) {
      if (peek().t != token::type::lparen) fail("expected '(' after in", peek().pos);
      next();
      for (;;) {
        n->values.push_back(parse_value(*field, false));
        if (peek().t == token::type::comma) {
          next();
          continue;
        }
        if (peek().t != token::type::rparen) fail("expected ',' or ')' in the in-list", peek().pos);
        next();
        break;
      }
    } else {
      const bool null_ok = n->o == op::eq || n->o == op::ne;
      n->values.push_back(parse_value(*field, null_ok));
      if (field->kind == value_kind::boolean && n->values.front().t != literal::type::null && !null_ok)
        fail("boolean field '" + field->name + "' supports only = and !=", op_tok.pos);
    }
    return n;
  }

  literal parse_value(const field_def& field, bool null_ok) {
    const token& tok = next();
    literal lit;
    const auto mismatch = [&]() {
      fail("field '" + field.name + "' expects " + std::string(kind_name(field.kind)) + ", found '" + tok.text + "'",
           tok.pos);
    };
    switch (tok.t) {
      case token::type::word:
        if (ci_equal(tok.text, "null")) {
          if (!null_ok) fail("null can only be compared with = or !=", tok.pos);
          lit.t = literal::type::null;
          return lit;
        }
        if (ci_equal(tok.text, "true") || ci_equal(tok.text, "false")) {
          if (field.kind != value_kind::boolean) mismatch();
          lit.t = literal::type::boolean;
          lit.boolean = ci_equal(tok.text, "true");
          return lit;
        }
        fail("unexpected word '" + tok.text +
                 "'; string values should be enclosed with double or single quotes, datetime values with square "
                 "brackets, booleans written as true or false and null as null",
             tok.pos);
      case token::type::string:
        if (field.kind != value_kind::string) mismatch();
        lit.t = literal::type::string;
        lit.text = tok.text;
        return lit;
      case token::type::number:
        if (field.kind != value_kind::integer) mismatch();
        lit.t = literal::type::number;
        lit.number = std::stod(tok.text);
        return lit;
      case token::type::datetime: {
        if (field.kind != value_kind::datetime) mismatch();
        const auto secs = parse_datetime(tok.text);
        if (!secs) fail("malformed datetime [" + tok.text + "]", tok.pos);
        lit.t = literal::type::datetime;
        lit.seconds = *secs;
        return lit;
      }
      case token::type::end: fail("expected a value but the conditions ended", tok.pos);
      default: fail("expected a value, found '" + tok.text + "'", tok.pos);
    }
  }

  std::vector<token> tokens_;
  std::size_t index_ = 0;
  const field_schema& schema_;
};

// Three-way comparison of a JSON field value with a literal of the field's kind;
// nullopt when the stored value does not have the expected JSON type.
std::optional<int> compare_with(const json& v, const literal& lit) {
  switch (lit.t) {
    case literal::type::string:
      if (!v.is_string()) return std::nullopt;
      return ci_compare(v.get_ref<const std::string&>(), lit.text);
    case literal::type::number: {
      if (!v.is_number()) return std::nullopt;
      const double d = v.get<double>();
      return d < lit.number ? -1 : d > lit.number ? 1 : 0;
    }
    case literal::type::boolean:
      if (!v.is_boolean()) return std::nullopt;
      return static_cast<int>(v.get<bool>()) - static_cast<int>(lit.boolean);
    case literal::type::datetime: {
      if (!v.is_string()) return std::nullopt;
      const auto secs = parse_datetime(v.get_ref<const std::string&>());
      if (!secs) return std::nullopt;
      return *secs < lit.seconds ? -1 : *secs > lit.seconds ? 1 : 0;
    }
    case literal::type::null: break;
  }
  return std::nullopt;
}

bool evaluate(const node& n, const json& object) {
  switch (n.k) {
    case node::kind::conj: return evaluate(*n.lhs, object) && evaluate(*n.rhs, object);
    case node::kind::disj: return evaluate(*n.lhs, object) || evaluate(*n.rhs, object);
    case node::kind::compare: break;
  }
  const json* v = field_value(object, n.field);
  if (n.o != op::in && n.values.front().t == literal::type::null) {
    const bool is_null = v == nullptr;
    return n.o == op::eq ? is_null : !is_null;
  }
  if (v == nullptr) return false;  // SQL: comparing NULL yields unknown, which filters the row out
  bool result = false;
  switch (n.o) {
    case op::contains:
      result = v->is_string() && ci_contains(v->get_ref<const std::string&>(), n.values.front().text);
      break;
    case op::like:
      result = v->is_string() && like_match(v->get_ref<const std::string&>(), n.values.front().text);
      break;
    case op::in:
      result = std::any_of(n.values.begin(), n.values.end(), [&](const literal& lit) {
        const auto c = compare_with(*v, lit);
        return c && *c == 0;
      });
      break;
    default: {
      const auto c = compare_with(*v, n.values.front());
      if (!c) return false;
      switch (n.o) {
        case op::eq: result = *c == 0; break;
        case op::ne: result = *c != 0; break;
        case op::lt: result = *c < 0; break;
        case op::le: result = *c <= 0; break;
        case op::gt: result = *c > 0; break;
        case op::ge: result = *c >= 0; break;
        default: break;
      }
    }
  }
  return n.negated ? !result : result;
}

}  // namespace

const field_def* find_field(const field_schema& schema, std::string_view name) noexcept {
  for (const auto& f : schema)
    if (ci_equal(f.name, name)) return &f;
  return nullptr;
}

const json* field_value(const json& object, const field_def& field) noexcept {
  const json* cur = &object;
  for (const auto& key : field.json_path) {
    if (!cur->is_object()) return nullptr;
    const auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur->is_null() ? nullptr : cur;
}

int compare_field_values(const json* a, const json* b, value_kind kind) noexcept {
  if (a == nullptr || b == nullptr) return (a == nullptr ? 0 : 1) - (b == nullptr ? 0 : 1);
  switch (kind) {
    case value_kind::string:
      if (a->is_string() && b->is_string())
        return ci_compare(a->get_ref<const std::string&>(), b->get_ref<const std::string&>());
      break;
    case value_kind::integer:
      if (a->is_number() && b->is_number()) {
        const double x = a->get<double>(), y = b->get<double>();
        return x < y ? -1 : x > y ? 1 : 0;
      }
      break;
    case value_kind::boolean:
      if (a->is_boolean() && b->is_boolean())
        return static_cast<int>(a->get<bool>()) - static_cast<int>(b->get<bool>());
      break;
    case value_kind::datetime:
      if (a->is_string() && b->is_string()) {
        const auto x = parse_datetime(a->get_ref<const std::string&>());
        const auto y = parse_datetime(b->get_ref<const std::string&>());
        if (x && y) return *x < *y ? -1 : *x > *y ? 1 : 0;
      }
      break;
  }
  return 0;
}

condition condition::parse(std::string_view text, const field_schema& schema) {
  condition c;
  if (!trim(text).empty()) c.root_ = parser(text, schema).parse();
  return c;
}

bool condition::matches(const json& object) const { return root_ == nullptr || evaluate(*root_, object); }

}  // namespace cwsim

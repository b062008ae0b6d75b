//===- PtxParser.cpp - PTX text to the emulator's internal form -----------===//
//
// A parser for the PTX that LLVM's NVPTX back end writes (and hand-written
// kernels of the same style): module directives, .entry/.func with their
// parameters, .reg/.shared/.local declarations, labels and instructions.
// Every opcode and modifier is decoded here; anything the interpreter does
// not implement is rejected with its line, so nothing is silently skipped.
//
//===----------------------------------------------------------------------===//

#include "Emu.h"
#include "Ptx.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <set>
#include <unordered_map>

namespace qemu {

int tyBits(Ty t) {
  switch (t) {
  case Ty::Pred:
    return 1;
  case Ty::B8:
  case Ty::U8:
  case Ty::S8:
    return 8;
  case Ty::B16:
  case Ty::U16:
  case Ty::S16:
  case Ty::F16:
  case Ty::BF16:
    return 16;
  case Ty::B32:
  case Ty::U32:
  case Ty::S32:
  case Ty::F32:
  case Ty::F16x2:
  case Ty::BF16x2:
    return 32;
  case Ty::B64:
  case Ty::U64:
  case Ty::S64:
  case Ty::F64:
    return 64;
  case Ty::None:
    return 0;
  }
  return 0;
}

bool tySigned(Ty t) {
  return t == Ty::S8 || t == Ty::S16 || t == Ty::S32 || t == Ty::S64;
}

bool tyFloat(Ty t) {
  return t == Ty::F16 || t == Ty::F16x2 || t == Ty::BF16 || t == Ty::BF16x2 ||
         t == Ty::F32 || t == Ty::F64;
}

Module::~Module() {
  for (void *p : globalStorage) {
    unregisterAllocation(p);
    std::free(p);
  }
}

namespace {

const std::unordered_map<std::string, Ty> &typeNames() {
  static const std::unordered_map<std::string, Ty> m = {
      {"pred", Ty::Pred}, {"b8", Ty::B8},         {"b16", Ty::B16},
      {"b32", Ty::B32},   {"b64", Ty::B64},       {"u8", Ty::U8},
      {"u16", Ty::U16},   {"u32", Ty::U32},       {"u64", Ty::U64},
      {"s8", Ty::S8},     {"s16", Ty::S16},       {"s32", Ty::S32},
      {"s64", Ty::S64},   {"f16", Ty::F16},       {"f16x2", Ty::F16x2},
      {"bf16", Ty::BF16}, {"bf16x2", Ty::BF16x2}, {"f32", Ty::F32},
      {"f64", Ty::F64},   {"b1", Ty::Pred}, // mma operand type only
  };
  return m;
}

bool parseType(const std::string &s, Ty &t) {
  auto it = typeNames().find(s);
  if (it == typeNames().end())
    return false;
  t = it->second;
  return true;
}

const std::unordered_map<std::string, Special> &specialNames() {
  static const std::unordered_map<std::string, Special> m = {
      {"%tid.x", Special::TidX},
      {"%tid.y", Special::TidY},
      {"%tid.z", Special::TidZ},
      {"%ntid.x", Special::NtidX},
      {"%ntid.y", Special::NtidY},
      {"%ntid.z", Special::NtidZ},
      {"%ctaid.x", Special::CtaidX},
      {"%ctaid.y", Special::CtaidY},
      {"%ctaid.z", Special::CtaidZ},
      {"%nctaid.x", Special::NctaidX},
      {"%nctaid.y", Special::NctaidY},
      {"%nctaid.z", Special::NctaidZ},
      {"%laneid", Special::LaneId},
      {"%warpid", Special::WarpId},
      {"%nwarpid", Special::NWarpId},
      {"%smid", Special::SmId},
      {"%nsmid", Special::NSmId},
      {"%gridid", Special::GridId},
      {"%clock", Special::Clock},
      {"%clock64", Special::Clock64},
      {"%lanemask_eq", Special::LanemaskEq},
      {"%lanemask_lt", Special::LanemaskLt},
      {"%lanemask_le", Special::LanemaskLe},
      {"%lanemask_gt", Special::LanemaskGt},
      {"%lanemask_ge", Special::LanemaskGe},
      {"%dynamic_smem_size", Special::DynSmemSize},
      {"%total_smem_size", Special::TotalSmemSize},
  };
  return m;
}

std::string trim(const std::string &s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
    ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
    --e;
  return s.substr(b, e - b);
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

/// Splits operands at top-level commas (not inside [] or {}).
std::vector<std::string> splitOperands(const std::string &s) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : s) {
    if (c == '[' || c == '{')
      ++depth;
    if (c == ']' || c == '}')
      --depth;
    if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty())
    out.push_back(trim(cur));
  return out;
}

bool parseInt(const std::string &s, int64_t &v) {
  if (s.empty())
    return false;
  const char *p = s.c_str();
  bool neg = false;
  if (*p == '-' || *p == '+') {
    neg = *p == '-';
    ++p;
  }
  if (!std::isdigit(static_cast<unsigned char>(*p)))
    return false;
  char *end = nullptr;
  uint64_t u;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
    u = std::strtoull(p + 2, &end, 16);
  else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
    u = std::strtoull(p + 2, &end, 2);
  else if (p[0] == '0' && p[1] &&
           std::isdigit(static_cast<unsigned char>(p[1])))
    u = std::strtoull(p + 1, &end, 8);
  else
    u = std::strtoull(p, &end, 10);
  if (*end == 'U' || *end == 'u')
    ++end;
  if (*end)
    return false;
  v = neg ? -static_cast<int64_t>(u) : static_cast<int64_t>(u);
  return true;
}

struct Parser {
  const std::string &text;
  Module &module;
  std::string &error;
  size_t pos = 0;
  int line = 1;

  // Module-scope symbols: name -> (space, value).
  struct Symbol {
    Space space;
    uint64_t value;
    bool externShared = false;
  };
  std::map<std::string, Symbol> moduleSymbols;
  uint32_t moduleShared = 0;      // bytes of module-scope .shared
  uint32_t moduleExternAlign = 0; // module-scope `.extern .shared`
  std::vector<std::string> moduleExternNames;

  Parser(const std::string &t, Module &m, std::string &e)
      : text(t), module(m), error(e) {}

  bool fail(int atLine, const std::string &msg) {
    error = "PTX line " + std::to_string(atLine) + ": " + msg;
    return false;
  }

  void skipSpace() {
    while (pos < text.size()) {
      char c = text[pos];
      if (c == '\n') {
        ++line;
        ++pos;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos;
      } else if (c == '/' && pos + 1 < text.size() && text[pos + 1] == '/') {
        while (pos < text.size() && text[pos] != '\n')
          ++pos;
      } else if (c == '/' && pos + 1 < text.size() && text[pos + 1] == '*') {
        pos += 2;
        while (pos + 1 < text.size() &&
               !(text[pos] == '*' && text[pos + 1] == '/')) {
          if (text[pos] == '\n')
            ++line;
          ++pos;
        }
        pos += 2;
      } else {
        break;
      }
    }
  }

  /// Reads up to (not including) one of `stops` at nesting depth 0 of
  /// parentheses, dropping comments; newlines are counted.
  std::string readUntil(const char *stops) {
    std::string out;
    int depth = 0;
    bool inString = false;
    while (pos < text.size()) {
      char c = text[pos];
      if (!inString && c == '/' && pos + 1 < text.size() &&
          (text[pos + 1] == '/' || text[pos + 1] == '*')) {
        skipSpace();
        out += ' ';
        continue;
      }
      if (c == '"')
        inString = !inString;
      if (!inString && depth == 0 && std::strchr(stops, c))
        break;
      if (!inString && c == '(')
        ++depth;
      if (!inString && c == ')')
        --depth;
      if (c == '\n')
        ++line;
      out += c;
      ++pos;
    }
    return out;
  }

  /// One statement of a body: up to ';' (braces inside are vector operands)
  /// or up to an unmatched '}' that closes a scope.
  std::string readStatement() {
    std::string out;
    int depth = 0;
    while (pos < text.size()) {
      char c = text[pos];
      if (c == '/' && pos + 1 < text.size() &&
          (text[pos + 1] == '/' || text[pos + 1] == '*')) {
        skipSpace();
        out += ' ';
        continue;
      }
      if (depth == 0 && (c == ';' || c == '}'))
        break;
      if (c == '{')
        ++depth;
      if (c == '}')
        --depth;
      if (c == '\n')
        ++line;
      out += c;
      ++pos;
    }
    return out;
  }

  /// Size and alignment of a declaration's element type and array count:
  /// `.align 4 .b8 name[64]`.
  struct Decl {
    Space space = Space::Generic;
    bool isExtern = false;
    uint32_t align = 0;
    Ty type = Ty::None;
    std::string name;
    int64_t count = 1; // -1: `[]`
    std::string init;
    int vec = 1;
  };

  bool parseDecl(const std::string &stmt, int atLine, Decl &d) {
    std::string s = stmt;
    size_t eq = s.find('=');
    if (eq != std::string::npos) {
      d.init = trim(s.substr(eq + 1));
      s = s.substr(0, eq);
    }
    std::vector<std::string> words;
    {
      std::string cur;
      for (char c : s) {
        if (std::isspace(static_cast<unsigned char>(c))) {
          if (!cur.empty())
            words.push_back(cur);
          cur.clear();
        } else {
          cur += c;
        }
      }
      if (!cur.empty())
        words.push_back(cur);
    }
    for (size_t i = 0; i < words.size(); ++i) {
      const std::string &w = words[i];
      if (w == ".extern") {
        d.isExtern = true;
      } else if (w == ".visible" || w == ".weak" || w == ".common") {
      } else if (w == ".shared" || w == ".shared::cta") {
        d.space = Space::Shared;
      } else if (w == ".global") {
        d.space = Space::Global;
      } else if (w == ".const") {
        d.space = Space::Const;
      } else if (w == ".local") {
        d.space = Space::Local;
      } else if (w == ".param") {
        d.space = Space::Param;
      } else if (w == ".align" && i + 1 < words.size()) {
        int64_t a;
        if (!parseInt(words[++i], a))
          return fail(atLine, "bad .align");
        d.align = static_cast<uint32_t>(a);
      } else if (w == ".ptr") {
        // `.ptr .global .align N`: attributes of what a param points to.
        while (i + 1 < words.size() &&
               (words[i + 1] == ".global" || words[i + 1] == ".shared" ||
                words[i + 1] == ".const" || words[i + 1] == ".local" ||
                words[i + 1] == ".align")) {
          if (words[++i] == ".align")
            ++i;
        }
      } else if (w == ".v2" || w == ".v4") {
        d.vec = w == ".v2" ? 2 : 4;
      } else if (w[0] == '.' && parseType(w.substr(1), d.type)) {
      } else if (w[0] != '.') {
        std::string rest;
        for (size_t j = i; j < words.size(); ++j)
          rest += words[j];
        size_t br = rest.find('[');
        d.name = rest.substr(0, br);
        if (br != std::string::npos) {
          std::string n = rest.substr(br + 1, rest.find(']') - br - 1);
          if (n.empty()) {
            d.count = -1;
          } else if (!parseInt(n, d.count)) {
            return fail(atLine, "bad array size in '" + stmt + "'");
          }
          if (rest.find('[', br + 1) != std::string::npos)
            return fail(atLine, "multi-dimensional arrays are not supported");
        }
        break;
      } else {
        return fail(atLine, "unsupported declaration attribute '" + w + "'");
      }
    }
    if (d.type == Ty::None || d.name.empty())
      return fail(atLine, "bad declaration '" + trim(stmt) + "'");
    return true;
  }

  static uint32_t typeBytes(Ty t) {
    return t == Ty::Pred ? 1 : static_cast<uint32_t>(tyBits(t) / 8);
  }

  static uint32_t alignUp(uint32_t v, uint32_t a) {
    return a ? (v + a - 1) / a * a : v;
  }

  bool parseInitializer(const Decl &d, std::vector<uint8_t> &out, int atLine) {
    uint32_t elem = typeBytes(d.type) * d.vec;
    std::string s = d.init;
    if (s.empty())
      return true;
    if (s.front() == '{') {
      s = s.substr(1, s.rfind('}') - 1);
    }
    size_t i = 0;
    for (const std::string &part : splitOperands(s)) {
      int64_t v;
      std::string p = trim(part);
      if (p.size() > 2 && p[0] == '0' && (p[1] == 'f' || p[1] == 'd')) {
        v = static_cast<int64_t>(std::strtoull(p.c_str() + 2, nullptr, 16));
      } else if (!parseInt(p, v)) {
        return fail(atLine, "unsupported initializer '" + p + "'");
      }
      if ((i + 1) * elem > out.size())
        return fail(atLine, "too many initializers");
      std::memcpy(out.data() + i * elem, &v, elem);
      ++i;
    }
    return true;
  }

  bool parseModuleVar(const std::string &stmt, int atLine) {
    Decl d;
    if (!parseDecl(stmt, atLine, d))
      return false;
    uint32_t elem = typeBytes(d.type) * d.vec;
    uint32_t align = d.align ? d.align : elem;
    if (d.space == Space::Shared) {
      if (d.isExtern || d.count < 0) {
        moduleExternAlign = std::max(moduleExternAlign, std::max(align, 16u));
        moduleSymbols[d.name] = {Space::Shared, 0, true};
        return true;
      }
      moduleShared = alignUp(moduleShared, align);
      moduleSymbols[d.name] = {Space::Shared, moduleShared};
      moduleShared += elem * static_cast<uint32_t>(d.count);
      return true;
    }
    if (d.space == Space::Global || d.space == Space::Const) {
      if (d.count < 0)
        return fail(atLine, "unsized global '" + d.name + "'");
      size_t bytes = static_cast<size_t>(elem) * d.count;
      GlobalVar g{d.name, d.space, align, std::vector<uint8_t>(bytes, 0)};
      if (!parseInitializer(d, g.init, atLine))
        return false;
      size_t a = std::max<size_t>(align, 16);
      void *p =
          std::aligned_alloc(a, (std::max<size_t>(bytes, 1) + a - 1) / a * a);
      std::memcpy(p, g.init.data(), bytes);
      registerAllocation(p, std::max<size_t>(bytes, 1));
      module.globalStorage.push_back(p);
      moduleSymbols[d.name] = {d.space, reinterpret_cast<uint64_t>(p)};
      module.globals.push_back(std::move(g));
      return true;
    }
    return fail(atLine,
                "unsupported module-scope declaration '" + trim(stmt) + "'");
  }

  bool parse() {
    while (true) {
      skipSpace();
      if (pos >= text.size())
        return true;
      int atLine = line;
      if (text.compare(pos, 8, ".version") == 0 ||
          text.compare(pos, 7, ".target") == 0 ||
          text.compare(pos, 13, ".address_size") == 0 ||
          text.compare(pos, 5, ".file") == 0) {
        while (pos < text.size() && text[pos] != '\n')
          ++pos;
        continue;
      }
      // A function or a module-scope variable: read up to '{', ';' or '('.
      size_t start = pos;
      std::string head = readUntil("{;(");
      if (pos >= text.size())
        return fail(atLine, "unexpected end of PTX");
      bool isEntry = head.find(".entry") != std::string::npos;
      bool isFunc = head.find(".func") != std::string::npos;
      if (!isEntry && !isFunc) {
        if (text[pos] != ';')
          return fail(atLine, "unexpected '" + trim(head) + "'");
        ++pos;
        if (!parseModuleVar(head, atLine))
          return false;
        continue;
      }
      (void)start;
      if (!parseFunction(head, isEntry, atLine))
        return false;
    }
  }

  bool parseFunction(const std::string &headIn, bool isEntry, int atLine) {
    auto fn = std::make_unique<Function>();
    fn->entry = isEntry;
    std::string head = trim(headIn);
    // .func may have a return value in parentheses before the name.
    if (!isEntry && text[pos] == '(' &&
        head.substr(head.size() - 5) == ".func") {
      ++pos;
      std::string ret = readUntil(")");
      ++pos;
      skipSpace();
      head += " " + readUntil("{;(");
      if (!trim(ret).empty())
        return fail(atLine, ".func with a return value is not supported");
    }
    {
      std::vector<std::string> words;
      std::string cur;
      for (char c : head + " ") {
        if (std::isspace(static_cast<unsigned char>(c))) {
          if (!cur.empty())
            words.push_back(cur);
          cur.clear();
        } else {
          cur += c;
        }
      }
      if (words.empty())
        return fail(atLine, "function without a name");
      fn->name = words.back();
    }
    std::map<std::string, Symbol> symbols;
    if (text[pos] == '(') {
      ++pos;
      std::string params = readUntil(")");
      ++pos;
      uint32_t offset = 0;
      for (const std::string &p : splitOperands(params)) {
        Decl d;
        if (!parseDecl(p, atLine, d))
          return false;
        uint32_t elem = typeBytes(d.type) * d.vec;
        uint32_t align = d.align ? d.align : elem;
        if (d.count < 0)
          return fail(atLine, "unsized parameter '" + d.name + "'");
        offset = alignUp(offset, align);
        uint32_t size = elem * static_cast<uint32_t>(d.count);
        fn->params.push_back({d.name, offset, size});
        symbols[d.name] = {Space::Param, offset};
        offset += size;
      }
      fn->paramBytes = offset;
    }
    // Performance directives (.maxntid, .reqntid, ...) up to the body.
    skipSpace();
    std::string directives = readUntil("{;");
    if (pos >= text.size())
      return fail(atLine, "unexpected end of PTX");
    if (text[pos] == ';') { // a prototype
      ++pos;
      return true;
    }
    ++pos; // '{'
    if (!parseBody(*fn, symbols))
      return false;
    module.byName[fn->name] = fn.get();
    module.functions.push_back(std::move(fn));
    return true;
  }

  // Register names: `%r<65>` declares %r0..%r64; plain names map one each.
  struct RegFile {
    std::map<std::string, std::pair<int, int>> ranges; // prefix -> base, n
    std::unordered_map<std::string, int> named;
    int next = 0;
    int lookup(const std::string &name) const {
      auto it = named.find(name);
      if (it != named.end())
        return it->second;
      size_t d = name.size();
      while (d > 0 && std::isdigit(static_cast<unsigned char>(name[d - 1])))
        --d;
      if (d == name.size() || d == 0)
        return -1;
      auto r = ranges.find(name.substr(0, d));
      if (r == ranges.end())
        return -1;
      int n = std::atoi(name.c_str() + d);
      if (n < 0 || n >= r->second.second)
        return -1;
      return r->second.first + n;
    }
  };

  bool parseBody(Function &fn, std::map<std::string, Symbol> &symbols) {
    RegFile regs;
    std::map<std::string, int> labels;
    uint32_t shared = moduleShared;
    uint32_t externAlign = moduleExternAlign;
    std::vector<std::string> externNames;
    for (auto &[name, sym] : moduleSymbols)
      if (sym.externShared)
        externNames.push_back(name);
    uint32_t local = 0;
    struct Pending {
      std::string opcode;
      std::vector<std::string> operands;
      std::string guard;
      int line;
    };
    std::vector<Pending> pending;
    int depth = 1;
    while (true) {
      skipSpace();
      if (pos >= text.size())
        return fail(line, "unterminated function body");
      int atLine = line;
      char c = text[pos];
      if (c == '}') {
        ++pos;
        if (--depth == 0)
          break;
        continue;
      }
      if (c == '{') { // a nested scope; names are function-wide here
        ++pos;
        ++depth;
        continue;
      }
      std::string stmt = readStatement();
      // Labels end with ':' (and may precede an instruction).
      std::string t = trim(stmt);
      while (true) {
        size_t colon = t.find(':');
        if (colon == std::string::npos)
          break;
        std::string maybe = trim(t.substr(0, colon));
        bool ident = !maybe.empty() && maybe.find(' ') == std::string::npos &&
                     maybe.find('.') != 0 &&
                     maybe.find('[') == std::string::npos &&
                     maybe.find("::") == std::string::npos &&
                     (colon + 1 >= t.size() || t[colon + 1] != ':');
        if (!ident)
          break;
        labels[maybe] = static_cast<int>(pending.size());
        t = trim(t.substr(colon + 1));
      }
      if (pos < text.size() && text[pos] == ';')
        ++pos;
      if (t.empty())
        continue;
      if (t[0] == '.') {
        if (t.compare(0, 7, ".pragma") == 0 || t.compare(0, 4, ".loc") == 0)
          continue;
        if (t.compare(0, 4, ".reg") == 0) {
          // .reg .b32 %r<65>;  or  .reg .b32 %a, %b;
          std::string rest = trim(t.substr(4));
          size_t sp = rest.find_first_of(" \t");
          if (sp == std::string::npos)
            return fail(atLine, "bad .reg");
          std::string tyname = rest.substr(0, sp);
          if (tyname == ".v2" || tyname == ".v4")
            return fail(atLine, "vector registers are not supported");
          for (const std::string &n : splitOperands(rest.substr(sp))) {
            size_t lt = n.find('<');
            if (lt != std::string::npos) {
              int count = std::atoi(n.c_str() + lt + 1);
              regs.ranges[n.substr(0, lt)] = {regs.next, count};
              regs.next += count;
            } else {
              regs.named[n] = regs.next++;
            }
          }
          continue;
        }
        Decl d;
        if (!parseDecl(t, atLine, d))
          return false;
        uint32_t elem = typeBytes(d.type) * d.vec;
        uint32_t align = d.align ? d.align : elem;
        if (d.space == Space::Shared) {
          if (d.isExtern || d.count < 0) {
            externAlign = std::max(externAlign, std::max(align, 16u));
            externNames.push_back(d.name);
          } else {
            shared = alignUp(shared, align);
            symbols[d.name] = {Space::Shared, shared};
            shared += elem * static_cast<uint32_t>(d.count);
          }
        } else if (d.space == Space::Local) {
          if (d.count < 0)
            return fail(atLine, "unsized .local");
          local = alignUp(local, align);
          symbols[d.name] = {Space::Local, local};
          local += elem * static_cast<uint32_t>(d.count);
        } else {
          return fail(atLine, "unsupported declaration '" + t + "'");
        }
        continue;
      }
      Pending p;
      p.line = atLine;
      if (t[0] == '@') {
        size_t sp = t.find_first_of(" \t\r\n");
        if (sp == std::string::npos)
          return fail(atLine, "bad guard");
        p.guard = t.substr(1, sp - 1);
        t = trim(t.substr(sp));
      }
      size_t sp = t.find_first_of(" \t\r\n");
      p.opcode = t.substr(0, sp);
      if (sp != std::string::npos)
        p.operands = splitOperands(t.substr(sp));
      pending.push_back(std::move(p));
    }
    fn.staticShared = shared;
    fn.externSharedAlign = externAlign;
    fn.localBytes = local;
    uint32_t externOffset = alignUp(shared, externAlign ? externAlign : 16);
    for (const std::string &n : externNames)
      symbols[n] = {Space::Shared, externOffset};
    for (auto &[name, sym] : moduleSymbols)
      if (!symbols.count(name) && !sym.externShared)
        symbols[name] = sym;
    fn.numRegs = regs.next;

    // Decode.
    for (Pending &p : pending) {
      Inst inst;
      inst.line = p.line;
      if (!p.guard.empty()) {
        std::string g = p.guard;
        if (g[0] == '!') {
          inst.guardNeg = true;
          g = g.substr(1);
        }
        inst.guard = regs.lookup(g);
        if (inst.guard < 0)
          return fail(p.line, "unknown guard predicate '" + g + "'");
      }
      for (const std::string &o : p.operands) {
        Operand op;
        if (!parseOperand(o, regs, labels, symbols, op, p.line))
          return false;
        inst.ops.push_back(std::move(op));
      }
      if (!decode(p.opcode, inst))
        return false;
      if (!fixImmediates(inst))
        return false;
      fn.code.push_back(std::move(inst));
    }
    // A trailing `ret` is implied by falling off the end.
    Inst exitInst;
    exitInst.op = Op::Exit;
    exitInst.line = line;
    fn.code.push_back(exitInst);
    return true;
  }

  bool parseOperand(const std::string &sIn, const RegFile &regs,
                    const std::map<std::string, int> &labels,
                    const std::map<std::string, Symbol> &symbols, Operand &op,
                    int atLine) {
    std::string s = trim(sIn);
    if (s.empty())
      return fail(atLine, "empty operand");
    if (s[0] == '!') {
      if (!parseOperand(s.substr(1), regs, labels, symbols, op, atLine))
        return false;
      op.neg = true;
      return true;
    }
    if (s[0] == '{') {
      op.kind = Operand::Vec;
      std::string inner = s.substr(1, s.rfind('}') - 1);
      for (const std::string &e : splitOperands(inner)) {
        Operand eo;
        if (trim(e) == "_") {
          eo.kind = Operand::Reg;
          eo.reg = -1;
        } else if (!parseOperand(e, regs, labels, symbols, eo, atLine)) {
          return false;
        }
        op.elems.push_back(std::move(eo));
      }
      return true;
    }
    if (s[0] == '[') {
      op.kind = Operand::Addr;
      std::string inner = trim(s.substr(1, s.rfind(']') - 1));
      // base[+offset] where offset may be negative: `%rd1+-8`.
      size_t plus = inner.find('+', 1);
      std::string base = trim(inner.substr(0, plus));
      int64_t offset = 0;
      if (plus != std::string::npos &&
          !parseInt(trim(inner.substr(plus + 1)), offset))
        return fail(atLine, "bad address offset in '" + s + "'");
      int64_t absolute;
      if (parseInt(base, absolute)) {
        op.imm = absolute + offset;
        return true;
      }
      if (base[0] == '%') {
        op.reg = regs.lookup(base);
        if (op.reg < 0)
          return fail(atLine, "unknown register '" + base + "'");
      } else {
        auto it = symbols.find(base);
        if (it == symbols.end())
          return fail(atLine, "unknown symbol '" + base + "'");
        offset += static_cast<int64_t>(it->second.value);
      }
      op.imm = offset;
      return true;
    }
    if (s.find('|') != std::string::npos) {
      // `%p|%q`: two destinations (setp, shfl); kept as a vector.
      op.kind = Operand::Vec;
      for (const std::string &e : split(s, '|')) {
        Operand eo;
        if (!parseOperand(e, regs, labels, symbols, eo, atLine))
          return false;
        op.elems.push_back(std::move(eo));
      }
      op.name = "|";
      return true;
    }
    if (s[0] == '%') {
      auto sp = specialNames().find(s);
      if (sp != specialNames().end()) {
        op.kind = Operand::Spec;
        op.special = sp->second;
        return true;
      }
      op.kind = Operand::Reg;
      op.reg = regs.lookup(s);
      if (op.reg < 0)
        return fail(atLine, "unknown register '" + s + "'");
      return true;
    }
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'f' || s[1] == 'F') &&
        s.size() == 10) {
      op.kind = Operand::Imm;
      op.imm = static_cast<int64_t>(std::strtoull(s.c_str() + 2, nullptr, 16));
      op.name = "0f";
      return true;
    }
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'd' || s[1] == 'D') &&
        s.size() == 18) {
      op.kind = Operand::Imm;
      op.imm = static_cast<int64_t>(std::strtoull(s.c_str() + 2, nullptr, 16));
      op.name = "0d";
      return true;
    }
    int64_t v;
    if (parseInt(s, v)) {
      op.kind = Operand::Imm;
      op.imm = v;
      return true;
    }
    if (s == "WARP_SZ") {
      op.kind = Operand::Imm;
      op.imm = 32;
      return true;
    }
    if ((std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-') &&
        s.find_first_of(".eE") != std::string::npos) {
      char *end;
      double d = std::strtod(s.c_str(), &end);
      if (*end)
        return fail(atLine, "bad literal '" + s + "'");
      op.kind = Operand::Imm;
      op.floatLit = true;
      op.floatVal = d;
      return true;
    }
    auto l = labels.find(s);
    if (l != labels.end()) {
      op.kind = Operand::Label;
      op.imm = l->second;
      return true;
    }
    auto it = symbols.find(s);
    if (it != symbols.end()) {
      // The address of a variable in its own state space (PTX `mov`).
      op.kind = Operand::Imm;
      op.imm = static_cast<int64_t>(it->second.value);
      return true;
    }
    return fail(atLine, "unknown operand '" + s + "'");
  }

  /// Float immediates: 0f.. is single precision; decimal literals take the
  /// instruction's type.
  bool fixImmediates(Inst &inst) {
    Ty t = inst.op == Op::Cvt ? inst.type2 : inst.type;
    for (Operand &o : inst.ops) {
      if (o.kind != Operand::Imm)
        continue;
      if (o.floatLit || (o.name == "0f" && t == Ty::F64)) {
        double d = o.floatLit ? o.floatVal : [&] {
          uint32_t b = static_cast<uint32_t>(o.imm);
          float f;
          std::memcpy(&f, &b, 4);
          return static_cast<double>(f);
        }();
        if (t == Ty::F64) {
          std::memcpy(&o.imm, &d, 8);
        } else if (t == Ty::F32) {
          float f = static_cast<float>(d);
          uint32_t b;
          std::memcpy(&b, &f, 4);
          o.imm = b;
        } else if (o.floatLit) {
          return fail(inst.line, "float literal for a non-float operation");
        }
      }
    }
    return true;
  }

  bool decode(const std::string &opcode, Inst &inst);
};

// The opcode and its modifiers: `setp.lt.u64` -> "setp", {"lt", "u64"}.
struct Mods {
  std::vector<std::string> list;
  std::vector<bool> used;
  bool take(const char *m) {
    for (size_t i = 0; i < list.size(); ++i)
      if (!used[i] && list[i] == m) {
        used[i] = true;
        return true;
      }
    return false;
  }
  /// Takes every type modifier, in order.
  std::vector<Ty> types() {
    std::vector<Ty> out;
    for (size_t i = 0; i < list.size(); ++i) {
      Ty t;
      if (!used[i] && parseType(list[i], t)) {
        used[i] = true;
        out.push_back(t);
      }
    }
    return out;
  }
  /// Cache and memory-order qualifiers that do not change single-copy
  /// results in a sequential emulation.
  void takeIgnorable() {
    static const std::set<std::string> ignorable = {
        "ca",      "cg",  "cs",   "lu",       "cv",      "wb",
        "wt",      "nc",  "weak", "volatile", "relaxed", "acquire",
        "release", "cta", "gpu",  "sys",      "aligned"};
    for (size_t i = 0; i < list.size(); ++i)
      if (!used[i] &&
          (ignorable.count(list[i]) || list[i].compare(0, 4, "L1::") == 0 ||
           list[i].compare(0, 4, "L2::") == 0))
        used[i] = true;
  }
  std::string unused() const {
    for (size_t i = 0; i < list.size(); ++i)
      if (!used[i])
        return list[i];
    return "";
  }
};

bool takeSpace(Mods &m, Space &s) {
  if (m.take("global"))
    s = Space::Global;
  else if (m.take("shared") || m.take("shared::cta"))
    s = Space::Shared;
  else if (m.take("local"))
    s = Space::Local;
  else if (m.take("param") || m.take("param::entry"))
    s = Space::Param;
  else if (m.take("const"))
    s = Space::Const;
  else
    return false;
  return true;
}

bool takeRounding(Mods &m, Rnd &r) {
  static const std::pair<const char *, Rnd> names[] = {
      {"rn", Rnd::Rn},   {"rz", Rnd::Rz},   {"rm", Rnd::Rm},
      {"rp", Rnd::Rp},   {"rna", Rnd::Rna}, {"rni", Rnd::Rni},
      {"rzi", Rnd::Rzi}, {"rmi", Rnd::Rmi}, {"rpi", Rnd::Rpi}};
  for (auto &[n, v] : names)
    if (m.take(n)) {
      r = v;
      return true;
    }
  return false;
}

bool Parser::decode(const std::string &opcode, Inst &inst) {
  std::vector<std::string> parts = split(opcode, '.');
  std::string base = parts[0];
  Mods m;
  m.list.assign(parts.begin() + 1, parts.end());
  m.used.assign(m.list.size(), false);
  int L = inst.line;
  auto bad = [&](const std::string &why) {
    return fail(L, "unsupported instruction '" + opcode + "'" +
                       (why.empty() ? "" : " (" + why + ")"));
  };
  auto nops = [&](size_t n) {
    if (inst.ops.size() != n)
      return bad("expected " + std::to_string(n) + " operands");
    return true;
  };
  auto oneType = [&]() {
    std::vector<Ty> ts = m.types();
    if (ts.size() != 1)
      return false;
    inst.type = ts[0];
    return true;
  };
  auto finish = [&]() {
    std::string u = m.unused();
    if (!u.empty())
      return bad("modifier ." + u);
    return true;
  };
  bool ok = true;

  if (base == "ld" || base == "st") {
    inst.op = base == "ld" ? Op::Ld : Op::St;
    takeSpace(m, inst.space);
    m.takeIgnorable();
    if (m.take("v2"))
      inst.vec = 2;
    else if (m.take("v4"))
      inst.vec = 4;
    else if (m.take("v8"))
      inst.vec = 8;
    if (!oneType() || !nops(2))
      return bad("");
    const Operand &addr = inst.ops[inst.op == Op::Ld ? 1 : 0];
    const Operand &val = inst.ops[inst.op == Op::Ld ? 0 : 1];
    if (addr.kind != Operand::Addr)
      return bad("address operand expected");
    if (inst.vec > 1 &&
        (val.kind != Operand::Vec || val.elems.size() != inst.vec))
      return bad("vector operand expected");
    if (inst.space == Space::Param && inst.op == Op::St)
      return bad("st.param (calls) not supported");
    return finish();
  }
  if (base == "mov") {
    inst.op = Op::Mov;
    ok = oneType() && nops(2);
    return ok ? finish() : bad("");
  }
  if (base == "cvta") {
    inst.op = Op::Cvta;
    inst.cvtaTo = m.take("to");
    if (!takeSpace(m, inst.space2) || !oneType() || !nops(2))
      return bad("");
    return finish();
  }
  if (base == "cvt") {
    inst.op = Op::Cvt;
    takeRounding(m, inst.rnd);
    inst.ftz = m.take("ftz");
    inst.sat = m.take("sat");
    std::vector<Ty> ts = m.types();
    if (ts.size() != 2)
      return bad("");
    inst.type = ts[0];
    inst.type2 = ts[1];
    bool toF = tyFloat(inst.type), fromF = tyFloat(inst.type2);
    // cvt.rn.{f16x2,bf16x2}.f32 d, a, b: a to the upper half, b to the
    // lower (the only packed form LLVM writes).
    if ((inst.type == Ty::F16x2 || inst.type == Ty::BF16x2) &&
        inst.type2 == Ty::F32) {
      if (inst.rnd != Rnd::Rn || inst.sat || inst.ftz)
        return bad("packed conversions are .rn only");
      if (!nops(3))
        return false;
      return finish();
    }
    if (inst.type == Ty::F16x2 || inst.type == Ty::BF16x2 ||
        inst.type2 == Ty::F16x2 || inst.type2 == Ty::BF16x2)
      return bad("packed conversions other than from two f32");
    if (!nops(2))
      return false;
    if (toF && !fromF) {
      if (inst.rnd == Rnd::None && inst.type != Ty::F16 &&
          inst.type != Ty::BF16)
        ; // PTX requires a rounding mode, but ptxas accepts none as .rn
      if (inst.rnd >= Rnd::Rni)
        return bad("integer rounding for an int-to-float conversion");
    }
    if (!toF && fromF && inst.rnd != Rnd::None && inst.rnd < Rnd::Rni)
      return bad("float rounding for a float-to-int conversion");
    if ((inst.type == Ty::F16 || inst.type == Ty::BF16) && fromF &&
        inst.rnd != Rnd::None && inst.rnd != Rnd::Rn)
      return bad("only .rn conversions to f16/bf16");
    if ((inst.type == Ty::F16 || inst.type == Ty::BF16) && !fromF &&
        inst.rnd != Rnd::None && inst.rnd != Rnd::Rn)
      return bad("only .rn conversions to f16/bf16");
    if (inst.rnd == Rnd::Rna)
      return bad("");
    return finish();
  }
  if (base == "shf") {
    // shf.{l,r}.{wrap,clamp}.b32 d, a, b, c: the 64-bit {b, a} shifted by
    // c (mod 32, or at most 32), its high (l) or low (r) word.
    inst.op = Op::Shf;
    if (m.take("l"))
      inst.shfLeft = true;
    else if (!m.take("r"))
      return bad("shf needs .l or .r");
    if (m.take("clamp"))
      inst.shfClamp = true;
    else if (!m.take("wrap"))
      return bad("shf needs .wrap or .clamp");
    if (!oneType() || inst.type != Ty::B32)
      return bad("shf is .b32");
    if (!nops(4))
      return false;
    return finish();
  }
  static const std::map<std::string, Op> arith = {
      {"add", Op::Add},   {"sub", Op::Sub},   {"mul", Op::Mul},
      {"mad", Op::Mad},   {"fma", Op::Fma},   {"div", Op::Div},
      {"rem", Op::Rem},   {"min", Op::Min},   {"max", Op::Max},
      {"neg", Op::Neg},   {"abs", Op::Abs},   {"and", Op::And},
      {"or", Op::Or},     {"xor", Op::Xor},   {"not", Op::Not},
      {"cnot", Op::Cnot}, {"shl", Op::Shl},   {"shr", Op::Shr},
      {"popc", Op::Popc}, {"clz", Op::Clz},   {"brev", Op::Brev},
      {"bfe", Op::Bfe},   {"bfi", Op::Bfi},   {"selp", Op::Selp},
      {"rcp", Op::Rcp},   {"sqrt", Op::Sqrt}, {"rsqrt", Op::Rsqrt},
      {"ex2", Op::Ex2},   {"lg2", Op::Lg2},   {"sin", Op::Sin},
      {"cos", Op::Cos},   {"tanh", Op::Tanh}, {"copysign", Op::Copysign},
      {"prmt", Op::Prmt}};
  auto ar = arith.find(base);
  if (ar != arith.end()) {
    inst.op = ar->second;
    if (inst.op == Op::Mul || inst.op == Op::Mad) {
      if (m.take("lo"))
        inst.mul = MulMode::Lo;
      else if (m.take("hi"))
        inst.mul = MulMode::Hi;
      else if (m.take("wide"))
        inst.mul = MulMode::Wide;
    }
    takeRounding(m, inst.rnd);
    inst.ftz = m.take("ftz");
    inst.sat = m.take("sat");
    inst.approx = m.take("approx") || m.take("full");
    if ((inst.op == Op::Min || inst.op == Op::Max) && m.take("NaN"))
      inst.uni = true; // .NaN: propagate NaN
    if (inst.op == Op::Prmt && m.list.size() > 1)
      return bad("prmt modes");
    if (!oneType())
      return bad("");
    Ty t = inst.type;
    bool f = tyFloat(t);
    size_t want = 3;
    switch (inst.op) {
    case Op::Mad:
    case Op::Fma:
    case Op::Selp:
    case Op::Bfe:
    case Op::Prmt:
      want = 4;
      break;
    case Op::Bfi:
      want = 5;
      break;
    case Op::Neg:
    case Op::Abs:
    case Op::Not:
    case Op::Cnot:
    case Op::Popc:
    case Op::Clz:
    case Op::Brev:
    case Op::Rcp:
    case Op::Sqrt:
    case Op::Rsqrt:
    case Op::Ex2:
    case Op::Lg2:
    case Op::Sin:
    case Op::Cos:
    case Op::Tanh:
      want = 2;
      break;
    default:
      break;
    }
    if (!nops(want))
      return false;
    if (inst.mul != MulMode::None && f)
      return bad("");
    if ((inst.op == Op::Mul || inst.op == Op::Mad) && !f &&
        inst.mul == MulMode::None)
      return bad("integer mul needs .lo/.hi/.wide");
    if (inst.mul == MulMode::Wide && tyBits(t) == 64)
      return bad("");
    bool floatOnly = inst.op == Op::Fma || inst.op >= Op::Rcp;
    if (floatOnly && inst.op != Op::Selp && inst.op != Op::Prmt && !f)
      return bad("float operation with an integer type");
    bool intOnly =
        inst.op == Op::Rem || (inst.op >= Op::And && inst.op <= Op::Bfi);
    if (intOnly && f)
      return bad("integer operation with a float type");
    if (f &&
        (t == Ty::F16x2 || t == Ty::BF16x2 || t == Ty::F16 || t == Ty::BF16)) {
      bool simple =
          inst.op == Op::Add || inst.op == Op::Sub || inst.op == Op::Mul ||
          inst.op == Op::Fma || inst.op == Op::Neg || inst.op == Op::Abs ||
          inst.op == Op::Min || inst.op == Op::Max || inst.op == Op::Selp;
      if (!simple || (inst.rnd != Rnd::None && inst.rnd != Rnd::Rn) ||
          inst.approx)
        return bad("half-precision variant");
    }
    if (f && inst.rnd >= Rnd::Rna)
      return bad("");
    if (!f && inst.rnd != Rnd::None)
      return bad("");
    if (f && t == Ty::F64 && inst.approx &&
        !(inst.op == Op::Rcp || inst.op == Op::Rsqrt))
      return bad("");
    if (inst.op == Op::Div && f && t == Ty::F32 && inst.rnd == Rnd::None &&
        !inst.approx)
      return bad("div.f32 needs .rn/.approx/.full");
    return finish();
  }
  if (base == "setp") {
    inst.op = Op::Setp;
    static const std::pair<const char *, Cmp> cmps[] = {
        {"eq", Cmp::Eq},   {"ne", Cmp::Ne},   {"lt", Cmp::Lt},
        {"le", Cmp::Le},   {"gt", Cmp::Gt},   {"ge", Cmp::Ge},
        {"lo", Cmp::Lo},   {"ls", Cmp::Ls},   {"hi", Cmp::Hi},
        {"hs", Cmp::Hs},   {"equ", Cmp::Equ}, {"neu", Cmp::Neu},
        {"ltu", Cmp::Ltu}, {"leu", Cmp::Leu}, {"gtu", Cmp::Gtu},
        {"geu", Cmp::Geu}, {"num", Cmp::Num}, {"nan", Cmp::Nan}};
    if (m.list.empty())
      return bad("");
    bool found = false;
    for (auto &[n, c] : cmps)
      if (m.list[0] == n) {
        inst.cmp = c;
        m.used[0] = true;
        found = true;
      }
    if (!found)
      return bad("comparison");
    if (m.take("and"))
      inst.boolOp = BoolOp::And;
    else if (m.take("or"))
      inst.boolOp = BoolOp::Or;
    else if (m.take("xor"))
      inst.boolOp = BoolOp::Xor;
    inst.ftz = m.take("ftz");
    if (!oneType())
      return bad("");
    if (!nops(inst.boolOp == BoolOp::None ? 3 : 4))
      return false;
    if (inst.type == Ty::F16x2 || inst.type == Ty::BF16x2)
      return bad("packed comparison");
    bool f = tyFloat(inst.type);
    if (!f && inst.cmp >= Cmp::Equ)
      return bad("unordered comparison of integers");
    if (f && inst.cmp >= Cmp::Lo && inst.cmp <= Cmp::Hs)
      return bad("unsigned comparison of floats");
    return finish();
  }
  if (base == "bra") {
    inst.op = Op::Bra;
    inst.uni = m.take("uni");
    if (!nops(1) || inst.ops[0].kind != Operand::Label)
      return bad("branch target must be a label");
    return finish();
  }
  if (base == "ret" || base == "exit") {
    inst.op = Op::Exit;
    m.take("uni");
    return finish();
  }
  if (base == "membar" || base == "fence") {
    inst.op = Op::Nop;
    m.takeIgnorable();
    m.take("gl");
    m.take("sc");
    m.take("acq_rel");
    m.take("proxy");
    m.take("async");
    m.take("shared::cta");
    m.take("cluster");
    return finish();
  }
  if (base == "bar" || base == "barrier") {
    m.take("aligned");
    if (base == "bar" && m.take("warp")) {
      if (!m.take("sync") || !nops(1))
        return bad("");
      inst.op = Op::WarpSync;
      return finish();
    }
    if (!m.take("sync") && !(base == "bar" && m.list.empty()))
      return bad("only bar.sync / barrier.sync");
    m.take("aligned");
    inst.op = Op::Bar;
    if (inst.ops.empty() || inst.ops.size() > 2)
      return bad("");
    return finish();
  }
  if (base == "shfl") {
    inst.op = Op::Shfl;
    if (!m.take("sync"))
      return bad("only shfl.sync");
    if (m.take("up"))
      inst.shfl = ShflMode::Up;
    else if (m.take("down"))
      inst.shfl = ShflMode::Down;
    else if (m.take("bfly"))
      inst.shfl = ShflMode::Bfly;
    else if (m.take("idx"))
      inst.shfl = ShflMode::Idx;
    else
      return bad("mode");
    if (!oneType() || tyBits(inst.type) != 32 || !nops(5))
      return bad("");
    return finish();
  }
  if (base == "vote") {
    inst.op = Op::Vote;
    if (!m.take("sync"))
      return bad("only vote.sync");
    if (m.take("ballot"))
      inst.vote = VoteMode::Ballot;
    else if (m.take("any"))
      inst.vote = VoteMode::Any;
    else if (m.take("all"))
      inst.vote = VoteMode::All;
    else if (m.take("uni"))
      inst.vote = VoteMode::Uni;
    else
      return bad("mode");
    if (!oneType() || !nops(3))
      return bad("");
    if ((inst.vote == VoteMode::Ballot) != (inst.type == Ty::B32))
      return bad("");
    return finish();
  }
  if (base == "cp" && m.take("async")) {
    if (m.take("commit_group")) {
      inst.op = Op::CpAsyncCommit;
      return nops(0) && finish();
    }
    if (m.take("wait_group")) {
      inst.op = Op::CpAsyncWait;
      if (!nops(1) || inst.ops[0].kind != Operand::Imm)
        return bad("");
      return finish();
    }
    if (m.take("wait_all")) {
      inst.op = Op::CpAsyncWaitAll;
      return nops(0) && finish();
    }
    inst.op = Op::CpAsync;
    if (!m.take("ca") && !m.take("cg"))
      return bad("");
    if (!(m.take("shared") || m.take("shared::cta")) || !m.take("global"))
      return bad("only shared <- global");
    m.takeIgnorable();
    // [dst], [src], cp-size{, src-size}
    if (inst.ops.size() < 3 || inst.ops.size() > 4)
      return bad("");
    if (inst.ops[0].kind != Operand::Addr ||
        inst.ops[1].kind != Operand::Addr || inst.ops[2].kind != Operand::Imm)
      return bad("");
    int64_t size = inst.ops[2].imm;
    if (size != 4 && size != 8 && size != 16)
      return bad("cp-size");
    if (inst.ops.size() == 4 && inst.ops[3].kind != Operand::Imm &&
        inst.ops[3].kind != Operand::Reg)
      return bad("src-size");
    return finish();
  }
  if (base == "mma") {
    inst.op = Op::Mma;
    if (!m.take("sync") || !m.take("aligned"))
      return bad("");
    static const std::pair<const char *, MmaShape> shapes[] = {
        {"m8n8k128", MmaShape::M8N8K128},   {"m16n8k128", MmaShape::M16N8K128},
        {"m16n8k256", MmaShape::M16N8K256}, {"m8n8k16", MmaShape::M8N8K16},
        {"m16n8k16", MmaShape::M16N8K16},   {"m16n8k32", MmaShape::M16N8K32},
        {"m16n8k8", MmaShape::M16N8K8}};
    bool found = false;
    for (auto &[n, s] : shapes)
      if (m.take(n)) {
        inst.shape = s;
        found = true;
      }
    if (!found || !m.take("row") || !m.take("col"))
      return bad("shape/layout");
    inst.sat = m.take("satfinite");
    std::vector<Ty> ts = m.types();
    if (ts.size() != 4 || !nops(4))
      return bad("");
    inst.type = ts[0];
    inst.type2 = ts[1];
    inst.type3 = ts[2];
    inst.type4 = ts[3];
    bool b1 = inst.type2 == Ty::Pred;
    bool isInt8 = (inst.type2 == Ty::S8 || inst.type2 == Ty::U8) &&
                  (inst.type3 == Ty::S8 || inst.type3 == Ty::U8);
    bool isHalf = (inst.type2 == Ty::F16 && inst.type3 == Ty::F16) ||
                  (inst.type2 == Ty::BF16 && inst.type3 == Ty::BF16);
    MmaShape s = inst.shape;
    if (b1) {
      if (inst.type3 != Ty::Pred || inst.type != Ty::S32 ||
          inst.type4 != Ty::S32 ||
          !(s == MmaShape::M8N8K128 || s == MmaShape::M16N8K128 ||
            s == MmaShape::M16N8K256))
        return bad("");
      if (m.take("xor"))
        inst.mmaXor = true;
      else if (!m.take("and"))
        return bad(".and.popc or .xor.popc");
      if (!m.take("popc"))
        return bad("");
    } else if (isInt8) {
      if (inst.type != Ty::S32 || inst.type4 != Ty::S32 ||
          !(s == MmaShape::M8N8K16 || s == MmaShape::M16N8K16 ||
            s == MmaShape::M16N8K32))
        return bad("");
    } else if (isHalf) {
      if (inst.type != Ty::F32 || inst.type4 != Ty::F32 || inst.sat ||
          !(s == MmaShape::M16N8K16 || s == MmaShape::M16N8K8))
        return bad("only f32 accumulators");
    } else {
      return bad("operand types");
    }
    // Fragment register counts.
    int a, b, c;
    switch (s) {
    case MmaShape::M8N8K128:
    case MmaShape::M8N8K16:
      a = 1, b = 1, c = 2;
      break;
    case MmaShape::M16N8K128:
    case MmaShape::M16N8K16:
    case MmaShape::M16N8K8:
      a = isHalf && s == MmaShape::M16N8K16 ? 4 : 2;
      b = isHalf && s == MmaShape::M16N8K16 ? 2 : 1;
      c = 4;
      break;
    default: // M16N8K256, M16N8K32
      a = 4, b = 2, c = 4;
      break;
    }
    int want[4] = {c, a, b, c};
    for (int i = 0; i < 4; ++i) {
      const Operand &o = inst.ops[i];
      if (o.kind != Operand::Vec || static_cast<int>(o.elems.size()) != want[i])
        return bad("fragment of " + std::to_string(want[i]) + " registers");
      for (const Operand &e : o.elems)
        if (e.kind != Operand::Reg || e.reg < 0)
          if (!(i == 3 && e.kind == Operand::Imm))
            return bad("fragment elements must be registers");
    }
    return finish();
  }
  if (base == "ldmatrix") {
    inst.op = Op::Ldmatrix;
    if (!m.take("sync") || !m.take("aligned") || !m.take("m8n8"))
      return bad("");
    if (m.take("x1"))
      inst.vec = 1;
    else if (m.take("x2"))
      inst.vec = 2;
    else if (m.take("x4"))
      inst.vec = 4;
    else
      return bad("");
    inst.ldTrans = m.take("trans");
    m.take("shared") || m.take("shared::cta");
    if (!oneType() || inst.type != Ty::B16 || !nops(2))
      return bad("");
    const Operand &d = inst.ops[0];
    if (d.kind != Operand::Vec || d.elems.size() != inst.vec ||
        inst.ops[1].kind != Operand::Addr)
      return bad("");
    return finish();
  }
  return fail(L, "unknown opcode '" + opcode + "'");
}

} // namespace

bool parsePtx(const std::string &text, Module &module, std::string &error) {
  Parser p(text, module, error);
  return p.parse();
}

} // namespace qemu

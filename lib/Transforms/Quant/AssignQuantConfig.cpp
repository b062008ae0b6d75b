//===- AssignQuantConfig.cpp - each layer's quantization precision --------===//

#include "qopt/Transforms/Quant/LinearLayers.h"
#include "qopt/Transforms/Quant/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/GlobPattern.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

namespace qopt {
#define GEN_PASS_DEF_ASSIGNQUANTCONFIG
#include "qopt/Transforms/Quant/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;

namespace {

/// A layer's settings while they are being resolved; unset fields fall back
/// to the global options.
struct LayerSettings {
  bool quantized = false;
  unsigned wbits = 0, abits = 16;
  int64_t groupSize = 0;
  bool weightSymmetric = true, actSymmetric = true;
  ActQuant dynamicOrStatic = ActQuant::DynamicPerToken;
};

/// One entry of the configuration file.
struct ConfigEntry {
  std::string match;
  /// Compiled from `match` once the entries no longer move: a GlobPattern
  /// keeps pointers into the text it was made from.
  std::optional<llvm::GlobPattern> pattern;
  std::optional<unsigned> wbits, abits;
  std::optional<int64_t> groupSize;
  std::optional<bool> weightSymmetric, actSymmetric, keepFloat;
  std::optional<ActQuant> actQuant;
  bool used = false;
};

std::optional<bool> parseScheme(llvm::StringRef s) {
  if (s == "sym" || s == "symmetric")
    return true;
  if (s == "asym" || s == "asymmetric")
    return false;
  return std::nullopt;
}

std::optional<ActQuant> parseActQuant(llvm::StringRef s) {
  if (s == "dynamic")
    return ActQuant::DynamicPerToken;
  if (s == "static")
    return ActQuant::StaticPerTensor;
  return std::nullopt;
}

/// Parses the configuration file; the error names the file and the entry.
llvm::Expected<std::vector<ConfigEntry>> parseConfigFile(llvm::StringRef path) {
  auto fail = [&](const llvm::Twine &why) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "layer config '" + path + "': " + why);
  };
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return fail("cannot read it: " + buffer.getError().message());
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return fail("invalid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Array *layers = root ? root->getArray("layers") : nullptr;
  if (!layers || root->size() != 1)
    return fail("expected an object {\"layers\": [...]}");
  std::vector<ConfigEntry> entries;
  for (size_t i = 0; i < layers->size(); ++i) {
    std::string where = "entry " + std::to_string(i);
    const llvm::json::Object *e = (*layers)[i].getAsObject();
    if (!e)
      return fail(where + " is not an object");
    ConfigEntry entry;
    std::optional<llvm::StringRef> match = e->getString("match");
    if (!match)
      return fail(where + " has no \"match\" pattern");
    entry.match = match->str();
    where += " (\"" + entry.match + "\")";
    // Validated here, compiled by the pass (see ConfigEntry::pattern).
    if (auto pattern = llvm::GlobPattern::create(entry.match); !pattern)
      return fail(where +
                  ": bad pattern: " + llvm::toString(pattern.takeError()));
    for (const auto &kv : *e) {
      llvm::StringRef key = kv.first;
      const llvm::json::Value &v = kv.second;
      auto integer = [&]() -> std::optional<int64_t> {
        return v.getAsInteger();
      };
      if (key == "match")
        continue;
      if (key == "wbits" || key == "abits") {
        std::optional<int64_t> bits = integer();
        if (!bits)
          return fail(where + ": \"" + key + "\" must be an integer");
        if (key == "wbits" && (*bits < 1 || *bits > 8))
          return fail(where + ": weight bits must be 1 to 8, got " +
                      llvm::Twine(*bits));
        if (key == "abits" && *bits != 16 && (*bits < 1 || *bits > 8))
          return fail(where +
                      ": activation bits must be 1 to 8, or 16 for "
                      "weight-only, got " +
                      llvm::Twine(*bits));
        (key == "wbits" ? entry.wbits : entry.abits) =
            static_cast<unsigned>(*bits);
      } else if (key == "group_size") {
        entry.groupSize = integer();
        if (!entry.groupSize || *entry.groupSize < 0)
          return fail(where +
                      ": \"group_size\" must be a non-negative integer");
      } else if (key == "weight_scheme" || key == "act_scheme") {
        std::optional<bool> sym =
            v.getAsString() ? parseScheme(*v.getAsString()) : std::nullopt;
        if (!sym)
          return fail(where + ": \"" + key + "\" must be \"sym\" or \"asym\"");
        (key == "weight_scheme" ? entry.weightSymmetric : entry.actSymmetric) =
            *sym;
      } else if (key == "act_quant") {
        entry.actQuant =
            v.getAsString() ? parseActQuant(*v.getAsString()) : std::nullopt;
        if (!entry.actQuant)
          return fail(where +
                      ": \"act_quant\" must be \"dynamic\" or \"static\"");
      } else if (key == "keep_float") {
        entry.keepFloat = v.getAsBoolean();
        if (!entry.keepFloat)
          return fail(where + ": \"keep_float\" must be true or false");
      } else {
        return fail(where + ": unknown key \"" + key +
                    "\" (known: match, wbits, abits, group_size, "
                    "weight_scheme, act_scheme, act_quant, keep_float)");
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

/// A conv whose filter is a constant: a layer with K = C * KH * KW.
std::optional<int64_t> convReductionSize(linalg::Conv2DNchwFchwOp conv) {
  Value filter = conv.getInputs()[1];
  if (!filter.getDefiningOp<arith::ConstantOp>() ||
      !conv.hasPureTensorSemantics())
    return std::nullopt;
  auto type = cast<RankedTensorType>(filter.getType());
  if (!type.hasStaticShape() || !isa<FloatType>(type.getElementType()))
    return std::nullopt;
  return type.getDimSize(1) * type.getDimSize(2) * type.getDimSize(3);
}

struct AssignQuantConfigPass
    : qopt::impl::AssignQuantConfigBase<AssignQuantConfigPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto fail = [&](const llvm::Twine &message) {
      emitError(module.getLoc()) << message;
      signalPassFailure();
    };

    // Global settings.
    LayerSettings defaults;
    defaults.quantized = wbits != 0;
    defaults.wbits = wbits;
    defaults.abits = abits;
    defaults.groupSize = groupSize;
    std::optional<bool> ws = parseScheme(weightScheme),
                        as = parseScheme(actScheme);
    std::optional<ActQuant> aq = parseActQuant(actQuant);
    if (!ws)
      return fail("weight scheme must be sym or asym, got '" + weightScheme +
                  "'");
    if (!as)
      return fail("activation scheme must be sym or asym, got '" + actScheme +
                  "'");
    if (!aq)
      return fail("activation quantization must be dynamic or static, got '" +
                  actQuant + "'");
    defaults.weightSymmetric = *ws;
    defaults.actSymmetric = *as;
    defaults.dynamicOrStatic = *aq;
    std::vector<ConfigEntry> entries;
    if (!configFile.empty()) {
      auto parsed = parseConfigFile(configFile);
      if (!parsed)
        return fail(llvm::toString(parsed.takeError()));
      entries = std::move(*parsed);
      for (ConfigEntry &e : entries)
        e.pattern = cantFail(llvm::GlobPattern::create(e.match));
    }
    std::vector<std::pair<std::string, llvm::GlobPattern>> keep;
    for (const std::string &p : keepFloat) {
      auto pattern = llvm::GlobPattern::create(p);
      if (!pattern)
        return fail("keep-float pattern '" + p +
                    "': " + llvm::toString(pattern.takeError()));
      keep.push_back({p, std::move(*pattern)});
    }
    llvm::StringSet<> keepUsed;

    // The layers, in program order, with unique names.
    SmallVector<std::pair<Operation *, int64_t>> layers; // op, K
    module.walk([&](Operation *op) {
      // Layers inside control flow (scf.if from ONNX If) stay floating
      // point: calibration returns layer inputs as function results.
      if (!isa_and_nonnull<func::FuncOp>(op->getParentOp()))
        return;
      if (auto mm = dyn_cast<linalg::MatmulOp>(op)) {
        if (std::optional<LinearLayer> l = matchLinearLayer(mm))
          layers.push_back({op, l->k});
      } else if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op)) {
        if (std::optional<int64_t> k = convReductionSize(conv))
          layers.push_back({op, *k});
      }
    });
    llvm::StringMap<unsigned> seen;
    bool failedAny = false;
    for (auto [index, layer] : llvm::enumerate(layers)) {
      Operation *op = layer.first;
      int64_t k = layer.second;
      std::string name = getLayerName(op);
      if (name.empty())
        name = op->getName().stripDialect().str() + "_" + std::to_string(index);
      if (unsigned n = seen[name]++)
        name += "#" + std::to_string(n);
      op->setAttr(kLayerNameAttr, StringAttr::get(ctx, name));

      LayerSettings s = defaults;
      for (ConfigEntry &e : entries) {
        if (!e.pattern->match(name))
          continue;
        e.used = true;
        if (e.keepFloat && *e.keepFloat) {
          s.quantized = false;
          continue;
        }
        s.quantized = true;
        if (e.wbits)
          s.wbits = *e.wbits;
        if (e.abits)
          s.abits = *e.abits;
        if (e.groupSize)
          s.groupSize = *e.groupSize;
        if (e.weightSymmetric)
          s.weightSymmetric = *e.weightSymmetric;
        if (e.actSymmetric)
          s.actSymmetric = *e.actSymmetric;
        if (e.actQuant)
          s.dynamicOrStatic = *e.actQuant;
      }
      for (auto &[text, pattern] : keep)
        if (pattern.match(name)) {
          keepUsed.insert(text);
          s.quantized = false;
        }
      op->removeAttr(kQuantConfigAttr);
      if (!s.quantized)
        continue;

      auto layerError = [&](const llvm::Twine &why) {
        op->emitError() << "layer '" << name << "': " << why;
        failedAny = true;
      };
      if (s.wbits == 0) {
        layerError("no weight bits (give --wbits or \"wbits\" in its "
                   "config entry)");
        continue;
      }
      if (s.wbits > 8) {
        layerError("weight bits must be 1 to 8, got " + llvm::Twine(s.wbits));
        continue;
      }
      if (s.abits != 16 && (s.abits < 1 || s.abits > 8)) {
        layerError("activation bits must be 1 to 8, or 16 for weight-only, "
                   "got " +
                   llvm::Twine(s.abits));
        continue;
      }
      if (s.groupSize < 0 || (s.groupSize > 0 && k % s.groupSize)) {
        layerError("group size " + llvm::Twine(s.groupSize) +
                   " does not divide K = " + llvm::Twine(k));
        continue;
      }
      ActQuant act = s.abits == 16 ? ActQuant::None : s.dynamicOrStatic;
      op->setAttr(kQuantConfigAttr,
                  QuantConfigAttr::get(ctx, s.wbits, s.abits, s.groupSize,
                                       s.weightSymmetric, s.actSymmetric, act));
    }
    for (const ConfigEntry &e : entries)
      if (!e.used)
        emitWarning(module.getLoc())
            << "layer config entry \"" << e.match << "\" matches no layer";
    for (auto &[text, pattern] : keep)
      if (!keepUsed.contains(text))
        emitWarning(module.getLoc())
            << "keep-float pattern '" << text << "' matches no layer";
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace

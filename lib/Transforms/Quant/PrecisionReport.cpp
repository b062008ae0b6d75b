//===- PrecisionReport.cpp - the precision allocation as JSON and HTML ----===//

#include "qopt/Transforms/Quant/PrecisionReport.h"

#include "qopt/Quant/Precision.h"
#include "qopt/Transforms/Quant/LinearLayers.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ToolOutputFile.h"

#include <algorithm>
#include <cmath>
#include <set>

using namespace mlir;
using namespace qopt;
using namespace qopt::quant;

namespace {
struct RecordedLayer {
  std::string name;
  int64_t n = 0, k = 0, params = 0;
  std::vector<PrecisionOption> options;
  std::vector<int64_t> bytes;
  unsigned chosen = 0;
};

std::vector<RecordedLayer> recordedLayers(ModuleOp module) {
  std::vector<RecordedLayer> layers;
  module.walk([&](Operation *op) {
    auto p = op->getAttrOfType<DictionaryAttr>(kPrecisionAttr);
    if (!p)
      return;
    RecordedLayer l;
    l.name = getLayerName(op);
    auto w = p.getAs<DenseI64ArrayAttr>("wbits");
    auto a = p.getAs<DenseI64ArrayAttr>("abits");
    auto cost = p.getAs<DenseI64ArrayAttr>("cost");
    auto bytes = p.getAs<DenseI64ArrayAttr>("bytes");
    auto sens = p.getAs<DenseF64ArrayAttr>("sensitivity");
    auto chosen = p.getAs<IntegerAttr>("chosen");
    auto params = p.getAs<IntegerAttr>("params");
    if (!w || !a || !cost || !bytes || !sens || !chosen || !params ||
        w.size() != a.size() || w.size() != cost.size() ||
        w.size() != sens.size() || w.size() != bytes.size() ||
        chosen.getInt() < 0 ||
        chosen.getInt() >= static_cast<int64_t>(w.size()))
      return;
    l.params = params.getInt();
    for (int64_t i = 0; i < w.size(); ++i) {
      l.options.push_back({static_cast<unsigned>(w[i]),
                           static_cast<unsigned>(a[i]), cost[i], sens[i]});
      l.bytes.push_back(bytes[i]);
    }
    l.chosen = chosen.getInt();
    layers.push_back(std::move(l));
  });
  return layers;
}

llvm::json::Array choiceKeys(const std::vector<RecordedLayer> &layers,
                             const std::vector<unsigned> &choice) {
  llvm::json::Array keys;
  for (size_t i = 0; i < layers.size(); ++i) {
    const PrecisionOption &o = layers[i].options[choice[i]];
    keys.push_back(precisionCandidateKey(o.wbits, o.abits));
  }
  return keys;
}

/// avg_wbits, weight_bytes and predicted error of an allocation.
llvm::json::Object describe(const std::vector<RecordedLayer> &layers,
                            const std::vector<unsigned> &choice) {
  int64_t bits = 0, params = 0, bytes = 0, cost = 0;
  double sens = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const PrecisionOption &o = layers[i].options[choice[i]];
    bits += static_cast<int64_t>(o.wbits) * layers[i].params;
    params += layers[i].params;
    bytes += layers[i].bytes[choice[i]];
    cost += o.cost;
    sens += o.sensitivity;
  }
  return llvm::json::Object{
      {"cost", cost},
      {"avg_wbits", params ? static_cast<double>(bits) / params : 0.0},
      {"weight_bytes", bytes},
      {"predicted", sens},
      {"choice", choiceKeys(layers, choice)}};
}
} // namespace

llvm::json::Object qopt::precisionReport(ModuleOp module,
                                         size_t maxParetoPoints) {
  auto budget = module->getAttrOfType<DictionaryAttr>(kPrecisionBudgetAttr);
  std::vector<RecordedLayer> layers = recordedLayers(module);
  if (!budget || layers.empty())
    return {};
  llvm::json::Object b;
  for (NamedAttribute a : budget) {
    if (auto s = dyn_cast<StringAttr>(a.getValue()))
      b[a.getName().str()] = s.str();
    else if (auto i = dyn_cast<IntegerAttr>(a.getValue()))
      b[a.getName().str()] = i.getInt();
    else if (auto f = dyn_cast<FloatAttr>(a.getValue()))
      b[a.getName().str()] = f.getValueAsDouble();
  }

  llvm::json::Array jsonLayers;
  std::vector<unsigned> chosen;
  for (const RecordedLayer &l : layers) {
    llvm::json::Array candidates;
    for (auto [o, bytes] : llvm::zip(l.options, l.bytes))
      candidates.push_back(llvm::json::Object{
          {"config", precisionCandidateKey(o.wbits, o.abits)},
          {"wbits", o.wbits},
          {"abits", o.abits},
          {"cost", o.cost},
          {"bytes", bytes},
          {"sensitivity", o.sensitivity}});
    const PrecisionOption &c = l.options[l.chosen];
    jsonLayers.push_back(llvm::json::Object{
        {"name", l.name},
        {"params", l.params},
        {"candidates", std::move(candidates)},
        {"chosen",
         llvm::json::Object{{"config", precisionCandidateKey(c.wbits, c.abits)},
                            {"wbits", c.wbits},
                            {"abits", c.abits},
                            {"bytes", l.bytes[l.chosen]},
                            {"sensitivity", c.sensitivity}}}});
    chosen.push_back(l.chosen);
  }

  // The Pareto front of the same problem.
  std::vector<std::vector<PrecisionOption>> problem;
  for (const RecordedLayer &l : layers)
    problem.push_back(l.options);
  std::vector<Allocation> front = precisionParetoFront(problem);
  std::set<size_t> keep;
  size_t count = front.size();
  for (size_t i = 0; i < std::min(count, maxParetoPoints); ++i)
    keep.insert(
        count <= maxParetoPoints ? i : i * (count - 1) / (maxParetoPoints - 1));
  llvm::json::Array pareto;
  for (size_t i = 0; i < count; ++i) {
    bool isChosen = front[i].choice == chosen;
    if (!keep.count(i) && !isChosen)
      continue;
    llvm::json::Object p = describe(layers, front[i].choice);
    p["chosen"] = isChosen;
    pareto.push_back(std::move(p));
  }

  // Uniform allocations at each weight width every layer offers (with the
  // activation bits of each layer's choice where it has that candidate).
  std::set<unsigned> widths;
  for (const PrecisionOption &o : layers.front().options)
    widths.insert(o.wbits);
  llvm::json::Array uniform;
  for (unsigned w : widths) {
    std::vector<unsigned> choice;
    for (const RecordedLayer &l : layers) {
      int best = -1;
      for (size_t i = 0; i < l.options.size(); ++i) {
        if (l.options[i].wbits != w)
          continue;
        if (best < 0 || l.options[i].abits == l.options[l.chosen].abits)
          best = i;
      }
      if (best < 0)
        break;
      choice.push_back(best);
    }
    if (choice.size() != layers.size())
      continue;
    llvm::json::Object u = describe(layers, choice);
    u["label"] = "uniform W" + std::to_string(w);
    u["wbits"] = w;
    uniform.push_back(std::move(u));
  }

  llvm::json::Object totals = describe(layers, chosen);
  return llvm::json::Object{{"budget", std::move(b)},
                            {"layers", std::move(jsonLayers)},
                            {"totals", std::move(totals)},
                            {"pareto", std::move(pareto)},
                            {"uniform", std::move(uniform)}};
}

llvm::Error qopt::writePrecisionJson(llvm::StringRef path,
                                     const llvm::json::Object &report) {
  std::string error;
  auto file = openOutputFile(path, &error);
  if (!file)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot write the precision report: " +
                                       error);
  file->os() << llvm::formatv("{0:2}",
                              llvm::json::Value(llvm::json::Object(report)))
             << "\n";
  file->keep();
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// HTML
//===----------------------------------------------------------------------===//

namespace {
std::string escape(llvm::StringRef s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '&':
      out += "&amp;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

double number(const llvm::json::Object &o, llvm::StringRef key,
              double otherwise = NAN) {
  if (std::optional<double> v = o.getNumber(key))
    return *v;
  return otherwise;
}

struct Series {
  std::string label, color;
  bool line = false;
  std::vector<std::pair<double, double>> points; ///< (x, y)
  std::vector<std::string> tips;
  int highlight = -1; ///< index drawn larger
};

/// A log-y scatter/line plot with axes, ticks and a legend.
std::string plot(llvm::StringRef title, llvm::StringRef xLabel,
                 llvm::StringRef yLabel, const std::vector<Series> &series,
                 double budgetX) {
  const double W = 540, H = 360, L = 70, R = 20, T = 36, B = 50;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series &s : series)
    for (auto [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y) || y <= 0)
        continue;
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
      y0 = std::min(y0, std::log10(y));
      y1 = std::max(y1, std::log10(y));
    }
  std::string svg;
  llvm::raw_string_ostream os(svg);
  os << llvm::formatv("<svg xmlns='http://www.w3.org/2000/svg' width='{0}' "
                      "height='{1}' viewBox='0 0 {0} {1}' class='plot'>",
                      W, H);
  os << "<rect width='100%' height='100%' fill='white'/>";
  os << llvm::formatv("<text x='{0}' y='20' text-anchor='middle' "
                      "font-weight='bold' font-size='14'>{1}</text>",
                      W / 2, escape(title));
  if (!std::isfinite(x0)) {
    os << llvm::formatv("<text x='{0}' y='{1}' text-anchor='middle' "
                        "fill='#888'>no data (measured points need qcc "
                        "--calib)</text></svg>",
                        W / 2, H / 2);
    return svg;
  }
  if (x1 - x0 < 1e-12) {
    x0 -= 0.5;
    x1 += 0.5;
  }
  double ylo = std::floor(y0), yhi = std::ceil(y1);
  if (yhi - ylo < 1)
    yhi = ylo + 1;
  double padX = (x1 - x0) * 0.05;
  x0 -= padX;
  x1 += padX;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) {
    return T + (yhi - std::log10(y)) / (yhi - ylo) * (H - T - B);
  };
  // Axes and grid.
  os << llvm::formatv("<rect x='{0}' y='{1}' width='{2}' height='{3}' "
                      "fill='none' stroke='#444'/>",
                      L, T, W - L - R, H - T - B);
  for (double e = ylo; e <= yhi + 1e-9; e += 1) {
    double y = py(std::pow(10, e));
    os << llvm::formatv("<line x1='{0}' x2='{1}' y1='{2}' y2='{2}' "
                        "stroke='#ddd'/><text x='{3}' y='{4}' "
                        "text-anchor='end' font-size='11'>1e{5}</text>",
                        L, W - R, y, L - 6, y + 4, static_cast<int>(e));
  }
  // Ticks at 1, 2 or 5 times a power of ten, about five of them.
  double raw = (x1 - x0) / 5, step = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * step >= raw) {
      step *= m;
      break;
    }
  for (double x = std::ceil(x0 / step) * step; x <= x1 + 1e-9 * step; x += step)
    os << llvm::formatv("<line x1='{0}' x2='{0}' y1='{1}' y2='{2}' "
                        "stroke='#eee'/><text x='{0}' y='{3}' "
                        "text-anchor='middle' font-size='11'>{4}</text>",
                        px(x), T, H - B, H - B + 16, shortNumber(x));
  os << llvm::formatv("<text x='{0}' y='{1}' text-anchor='middle' "
                      "font-size='12'>{2}</text>",
                      (L + W - R) / 2, H - 12, escape(xLabel));
  os << llvm::formatv("<text transform='translate(16,{0}) rotate(-90)' "
                      "text-anchor='middle' font-size='12'>{1}</text>",
                      (T + H - B) / 2, escape(yLabel));
  if (std::isfinite(budgetX) && budgetX >= x0 && budgetX <= x1)
    os << llvm::formatv("<line x1='{0}' x2='{0}' y1='{1}' y2='{2}' "
                        "stroke='#c00' stroke-dasharray='4 3'/><text x='{3}' "
                        "y='{4}' font-size='11' fill='#c00'>budget</text>",
                        px(budgetX), T, H - B, px(budgetX) + 3, T + 12);
  // Series.
  double legendY = T + 14;
  for (const Series &s : series) {
    std::string path;
    for (auto [i, p] : llvm::enumerate(s.points)) {
      if (!std::isfinite(p.second) || p.second <= 0)
        continue;
      path += llvm::formatv("{0}{1:f1},{2:f1} ", path.empty() ? "M" : "L",
                            px(p.first), py(p.second))
                  .str();
    }
    if (s.line && !path.empty())
      os << "<path d='" << path << "' fill='none' stroke='" << s.color
         << "' stroke-width='1.5'/>";
    for (auto [i, p] : llvm::enumerate(s.points)) {
      if (!std::isfinite(p.second) || p.second <= 0)
        continue;
      bool big = static_cast<int>(i) == s.highlight;
      os << llvm::formatv("<circle cx='{0:f1}' cy='{1:f1}' r='{2}' "
                          "fill='{3}' stroke='{4}'><title>{5}</title>"
                          "</circle>",
                          px(p.first), py(p.second), big ? 7 : 3.5,
                          big ? "#ffd400" : s.color, big ? "#000" : s.color,
                          escape(i < s.tips.size() ? s.tips[i] : ""));
    }
    os << llvm::formatv("<circle cx='{0}' cy='{1}' r='4' fill='{2}'/>"
                        "<text x='{3}' y='{4}' font-size='11'>{5}</text>",
                        W - R - 150, legendY, s.color, W - R - 142, legendY + 4,
                        escape(s.label));
    legendY += 16;
  }
  os << "</svg>";
  return svg;
}

/// A colour from green (low) to red (high) on a log scale.
std::string heat(double value, double lo, double hi) {
  double t = 0.5;
  if (value > 0 && lo > 0 && hi > lo)
    t = (std::log10(value) - std::log10(lo)) /
        (std::log10(hi) - std::log10(lo));
  t = std::clamp(t, 0.0, 1.0);
  int r = static_cast<int>(60 + 195 * t), g = static_cast<int>(200 - 150 * t),
      b = static_cast<int>(90 - 40 * t);
  return llvm::formatv("rgb({0},{1},{2})", r, g, b).str();
}
} // namespace

std::string qopt::precisionReportHtml(const llvm::json::Object &report) {
  std::string html;
  llvm::raw_string_ostream os(html);
  const llvm::json::Object *budget = report.getObject("budget");
  const llvm::json::Array *layers = report.getArray("layers");
  const llvm::json::Object *totals = report.getObject("totals");
  std::string kind = budget && budget->getString("kind")
                         ? budget->getString("kind")->str()
                         : "";
  bool bytesAxis = kind == "max-weight-bytes";
  llvm::StringRef xKey = bytesAxis ? "weight_bytes" : "avg_wbits";
  std::string xLabel = bytesAxis ? "weight bytes (packed weights + scales)"
                                 : "average weight bits";
  double budgetX = NAN;
  if (budget && (kind == "avg-wbits" || bytesAxis))
    budgetX = number(*budget, "value");

  os << "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<title>qopt precision report</title><style>"
        "body{font-family:sans-serif;margin:20px;color:#222}"
        "table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
        "th{background:#f0f0f0}td.name{text-align:left;font-family:monospace}"
        "td.chosen{outline:3px solid #000;outline-offset:-3px;"
        "font-weight:bold}.plots{display:flex;flex-wrap:wrap;gap:12px}"
        ".bar{display:inline-block;height:10px;background:#3a6ea5}"
        "</style></head><body>\n";
  os << "<h1>qopt precision report</h1>\n";
  if (const std::optional<llvm::StringRef> model = report.getString("model"))
    os << "<p>Model: <code>" << escape(*model) << "</code></p>\n";
  if (budget && totals) {
    os << llvm::formatv(
        "<p>Budget: <b>{0} = {1}</b> ({2} {3}); estimator: <b>{4}</b>. "
        "Chosen allocation: {5:f3} average weight bits, {6} weight bytes, "
        "predicted error {7:e3}",
        escape(kind), number(*budget, "value"),
        static_cast<int64_t>(number(*budget, "budget")),
        escape(budget->getString("unit").value_or("")),
        escape(budget->getString("estimator").value_or("")),
        number(*totals, "avg_wbits"),
        static_cast<int64_t>(number(*totals, "weight_bytes")),
        number(*totals, "predicted"));
    if (std::isfinite(number(*totals, "measured")))
      os << llvm::formatv(
          ", measured output error {0:e3} ({1})", number(*totals, "measured"),
          escape(report.getString("measured_metric").value_or("relative MSE")));
    os << ".</p>\n";
  }

  // Pareto plots.
  auto seriesFrom = [&](const llvm::json::Array *points, llvm::StringRef yKey,
                        std::string label, std::string color, bool line) {
    Series s{label, color, line, {}, {}, -1};
    if (!points)
      return s;
    for (const llvm::json::Value &v : *points) {
      const llvm::json::Object *p = v.getAsObject();
      if (!p || !std::isfinite(number(*p, yKey)))
        continue;
      if (p->getBoolean("chosen").value_or(false))
        s.highlight = s.points.size();
      s.points.push_back({number(*p, xKey), number(*p, yKey)});
      std::string tip =
          llvm::formatv("{0} {1:f3} avg bits, {2} bytes, {3}: "
                        "{4:e3}",
                        p->getString("label").value_or(""),
                        number(*p, "avg_wbits"),
                        static_cast<int64_t>(number(*p, "weight_bytes")), yKey,
                        number(*p, yKey))
              .str();
      s.tips.push_back(tip);
    }
    return s;
  };
  const llvm::json::Array *pareto = report.getArray("pareto");
  const llvm::json::Array *uniform = report.getArray("uniform");
  const llvm::json::Array *measured = report.getArray("measured");
  os << "<h2>Pareto front: budget against error</h2><div class='plots'>\n";
  os << plot(
      "Predicted error (sum of layer sensitivities)", xLabel,
      "predicted error (log)",
      {seriesFrom(pareto, "predicted", "Pareto front (mixed)", "#3a6ea5", true),
       seriesFrom(uniform, "predicted", "uniform precision", "#d62728", false)},
      budgetX);
  os << plot(
      "Measured output error on calibration data", xLabel,
      "measured error (log)",
      {seriesFrom(measured, "measured", "mixed (solver)", "#3a6ea5", true),
       seriesFrom(uniform, "measured", "uniform precision", "#d62728", false)},
      budgetX);
  os << "</div>\n<p style='font-size:12px;color:#555'>The chosen allocation "
        "is the large yellow point; the dashed line is the budget.</p>\n";

  // The per-layer bit map.
  if (layers) {
    std::vector<std::string> columns;
    double lo = INFINITY, hi = 0;
    for (const llvm::json::Value &v : *layers)
      if (const llvm::json::Object *l = v.getAsObject())
        if (const llvm::json::Array *c = l->getArray("candidates"))
          for (const llvm::json::Value &cv : *c)
            if (const llvm::json::Object *co = cv.getAsObject()) {
              std::string key = co->getString("config").value_or("").str();
              if (llvm::find(columns, key) == columns.end())
                columns.push_back(key);
              double s = number(*co, "sensitivity");
              if (s > 0) {
                lo = std::min(lo, s);
                hi = std::max(hi, s);
              }
            }
    os << "<h2>Per-layer bit map</h2><p style='font-size:12px'>Cells: the "
          "sensitivity of each candidate (green low, red high, log scale); "
          "the outlined cell is the choice.</p><table><tr><th>layer</th>"
          "<th>params</th><th>chosen</th><th>bits</th><th>bytes</th>";
    for (const std::string &c : columns)
      os << "<th>" << escape(c) << "</th>";
    os << "</tr>\n";
    for (const llvm::json::Value &v : *layers) {
      const llvm::json::Object *l = v.getAsObject();
      if (!l)
        continue;
      const llvm::json::Object *chosen = l->getObject("chosen");
      std::string chosenKey =
          chosen ? chosen->getString("config").value_or("").str() : "";
      double wb = chosen ? number(*chosen, "wbits") : 0;
      os << "<tr><td class='name'>" << escape(l->getString("name").value_or(""))
         << "</td><td>" << static_cast<int64_t>(number(*l, "params"))
         << "</td><td>" << escape(chosenKey)
         << "</td><td style='text-align:left'>"
         << llvm::formatv("<span class='bar' style='width:{0}px'></span> {1}",
                          static_cast<int>(wb * 10), wb)
         << "</td><td>"
         << (chosen ? static_cast<int64_t>(number(*chosen, "bytes")) : 0)
         << "</td>";
      const llvm::json::Array *cands = l->getArray("candidates");
      for (const std::string &c : columns) {
        const llvm::json::Object *found = nullptr;
        if (cands)
          for (const llvm::json::Value &cv : *cands)
            if (const llvm::json::Object *co = cv.getAsObject())
              if (co->getString("config") == llvm::StringRef(c))
                found = co;
        if (!found) {
          os << "<td></td>";
          continue;
        }
        double s = number(*found, "sensitivity");
        os << "<td" << (c == chosenKey ? " class='chosen'" : "")
           << " style='background:" << heat(s, lo, hi) << "'>"
           << llvm::formatv("{0:e2}", s) << "</td>";
      }
      os << "</tr>\n";
    }
    os << "</table>\n";
  }

  // Measured points as a table.
  auto table = [&](const llvm::json::Array *rows, llvm::StringRef title) {
    if (!rows || rows->empty())
      return;
    os << "<h2>" << escape(title)
       << "</h2><table><tr><th>allocation</th><th>avg weight bits</th>"
          "<th>weight bytes</th><th>predicted</th><th>measured</th></tr>\n";
    for (const llvm::json::Value &v : *rows) {
      const llvm::json::Object *p = v.getAsObject();
      if (!p)
        continue;
      os << llvm::formatv(
          "<tr><td class='name'>{0}</td><td>{1:f3}</td>"
          "<td>{2}</td><td>{3:e3}</td><td>{4}</td></tr>\n",
          escape(p->getString("label").value_or("")), number(*p, "avg_wbits"),
          static_cast<int64_t>(number(*p, "weight_bytes")),
          number(*p, "predicted"),
          std::isfinite(number(*p, "measured"))
              ? llvm::formatv("{0:e3}", number(*p, "measured")).str()
              : std::string("-"));
    }
    os << "</table>\n";
  };
  table(measured, "Mixed allocations along the front");
  table(uniform, "Uniform precision");
  os << "</body></html>\n";
  return html;
}

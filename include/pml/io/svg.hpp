#pragma once
/// @file
/// io::SvgPlot: a small 2-D plot written as SVG (axes with ticks, lines, shaded bands, scatter points),
/// enough for the examples' pictures without a plotting dependency. Files are written atomically.

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>

#include "pml/core/check.hpp"
#include "pml/core/file.hpp"
#include "pml/core/types.hpp"

namespace pml::io {

/// `SvgPlot plot(-3, 3, -2, 2); plot.band(x, lo, hi, "#1f77b4"); plot.line(x, mean, "#1f77b4");
///  plot.points(xd, yd, "black"); plot.save("bands.svg");` Coordinates are in data units; points
/// outside the axes' ranges are clipped.
class SvgPlot {
 public:
  /// @throw std::domain_error unless xmin < xmax and ymin < ymax, all finite.
  SvgPlot(double xmin, double xmax, double ymin, double ymax, double width = 640, double height = 420)
      : x0_(xmin), x1_(xmax), y0_(ymin), y1_(ymax), w_(width), h_(height) {
    for (const double v : {xmin, xmax, ymin, ymax}) check_finite("io::SvgPlot", "range", v);
    if (!(xmin < xmax)) pml::detail::throw_domain("io::SvgPlot", "xmin", "be below xmax", pml::detail::describe(xmin));
    if (!(ymin < ymax)) pml::detail::throw_domain("io::SvgPlot", "ymin", "be below ymax", pml::detail::describe(ymin));
    check_positive("io::SvgPlot", "width", width);
    check_positive("io::SvgPlot", "height", height);
    body_ << "<defs><clipPath id=\"plot\"><rect x=\"" << left_ << "\" y=\"" << top_ << "\" width=\"" << (w_ - left_ - right_)
          << "\" height=\"" << (h_ - top_ - bottom_) << "\"/></clipPath></defs>\n";
  }

  /// A polyline through (x_i, y_i).
  template <class DX, class DY> SvgPlot& line(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y, const std::string& color, double width = 2) {
    check_pair("io::SvgPlot::line", x.size(), y.size());
    body_ << "<polyline clip-path=\"url(#plot)\" fill=\"none\" stroke=\"" << color << "\" stroke-width=\"" << width << "\" points=\"";
    for (Index i = 0; i < x.size(); ++i) body_ << px(double(x(i))) << ',' << py(double(y(i))) << ' ';
    body_ << "\"/>\n";
    return *this;
  }
  /// The region between lower(x) and upper(x), filled.
  template <class DX, class DL, class DU>
  SvgPlot& band(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DL>& lower, const Eigen::MatrixBase<DU>& upper, const std::string& color,
                double opacity = 0.25) {
    check_pair("io::SvgPlot::band", x.size(), lower.size());
    check_pair("io::SvgPlot::band", x.size(), upper.size());
    body_ << "<polygon clip-path=\"url(#plot)\" stroke=\"none\" fill=\"" << color << "\" fill-opacity=\"" << opacity << "\" points=\"";
    for (Index i = 0; i < x.size(); ++i) body_ << px(double(x(i))) << ',' << py(double(upper(i))) << ' ';
    for (Index i = x.size() - 1; i >= 0; --i) body_ << px(double(x(i))) << ',' << py(double(lower(i))) << ' ';
    body_ << "\"/>\n";
    return *this;
  }
  /// A dot at each (x_i, y_i).
  template <class DX, class DY>
  SvgPlot& points(const Eigen::MatrixBase<DX>& x, const Eigen::MatrixBase<DY>& y, const std::string& color, double radius = 2.5, double opacity = 0.8) {
    check_pair("io::SvgPlot::points", x.size(), y.size());
    body_ << "<g clip-path=\"url(#plot)\" fill=\"" << color << "\" fill-opacity=\"" << opacity << "\">";
    for (Index i = 0; i < x.size(); ++i)
      body_ << "<circle cx=\"" << px(double(x(i))) << "\" cy=\"" << py(double(y(i))) << "\" r=\"" << radius << "\"/>";
    body_ << "</g>\n";
    return *this;
  }
  /// A title above the plot and a legend entry list (drawn in the top-left corner).
  SvgPlot& title(const std::string& text) {
    title_ = text;
    return *this;
  }
  /// Adds a legend entry: a swatch of `color` and `label`.
  SvgPlot& legend(const std::string& label, const std::string& color) {
    legend_ << "<rect x=\"" << left_ + 10 << "\" y=\"" << top_ + 8 + 18 * entries_ << "\" width=\"14\" height=\"10\" fill=\"" << color << "\"/>"
            << "<text x=\"" << left_ + 30 << "\" y=\"" << top_ + 17 + 18 * entries_ << "\" font-size=\"12\">" << escape(label) << "</text>\n";
    ++entries_;
    return *this;
  }

  /// The whole document.
  std::string str() const {
    std::ostringstream out;
    out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w_ << "\" height=\"" << h_ << "\" viewBox=\"0 0 " << w_ << ' ' << h_
        << "\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    out << body_.str() << axes() << legend_.str();
    if (!title_.empty()) out << "<text x=\"" << w_ / 2 << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">" << escape(title_) << "</text>\n";
    out << "</svg>\n";
    return out.str();
  }
  /// Writes the document (whole or not at all). @throw std::runtime_error if the file cannot be written.
  void save(const std::filesystem::path& path) const { write_file_atomically(path, str(), "io::SvgPlot::save"); }

 private:
  static void check_pair(const char* function, Index a, Index b) {
    if (a != b) pml::detail::throw_shape(function, "x has " + std::to_string(a) + " entries, y has " + std::to_string(b));
  }
  static std::string escape(const std::string& s) {
    std::string out;
    for (const char c : s) {
      if (c == '<') out += "&lt;";
      else if (c == '>') out += "&gt;";
      else if (c == '&') out += "&amp;";
      else out += c;
    }
    return out;
  }
  double px(double x) const { return std::round(10 * (left_ + (x - x0_) / (x1_ - x0_) * (w_ - left_ - right_))) / 10; }
  double py(double y) const { return std::round(10 * (h_ - bottom_ - (y - y0_) / (y1_ - y0_) * (h_ - top_ - bottom_))) / 10; }
  // "nice" tick step: 1, 2 or 5 times a power of ten, about 6 ticks
  static double tick_step(double span) {
    const double raw = span / 6, p = std::pow(10.0, std::floor(std::log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
  }
  std::string axes() const {
    std::ostringstream a;
    a << "<rect x=\"" << left_ << "\" y=\"" << top_ << "\" width=\"" << (w_ - left_ - right_) << "\" height=\"" << (h_ - top_ - bottom_)
      << "\" fill=\"none\" stroke=\"#444\"/>\n";
    const double sx = tick_step(x1_ - x0_), sy = tick_step(y1_ - y0_);
    for (double t = std::ceil(x0_ / sx) * sx; t <= x1_ + 1e-9 * sx; t += sx)
      a << "<line x1=\"" << px(t) << "\" x2=\"" << px(t) << "\" y1=\"" << h_ - bottom_ << "\" y2=\"" << h_ - bottom_ + 5 << "\" stroke=\"#444\"/>"
        << "<text x=\"" << px(t) << "\" y=\"" << h_ - bottom_ + 18 << "\" font-size=\"11\" text-anchor=\"middle\">" << label(t, sx) << "</text>\n";
    for (double t = std::ceil(y0_ / sy) * sy; t <= y1_ + 1e-9 * sy; t += sy)
      a << "<line x1=\"" << left_ - 5 << "\" x2=\"" << left_ << "\" y1=\"" << py(t) << "\" y2=\"" << py(t) << "\" stroke=\"#444\"/>"
        << "<text x=\"" << left_ - 8 << "\" y=\"" << py(t) + 4 << "\" font-size=\"11\" text-anchor=\"end\">" << label(t, sy) << "</text>\n";
    return a.str();
  }
  static std::string label(double t, double step) {
    std::ostringstream s;
    s << (std::abs(t) < 1e-9 * step ? 0.0 : t);
    return s.str();
  }

  double x0_, x1_, y0_, y1_, w_, h_;
  double left_ = 50, right_ = 15, top_ = 28, bottom_ = 32;
  std::ostringstream body_, legend_;
  std::string title_;
  int entries_ = 0;
};

}  // namespace pml::io

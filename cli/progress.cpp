#include "progress.h"

#include <unistd.h>

#include <cmath>

namespace qualm::cli {

ProgressLine::ProgressLine(bool enabled) : enabled_(enabled), tty_(isatty(fileno(stderr)) != 0) {}

void ProgressLine::Update(double fraction, const std::string& text) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    // Redraw at most 10 times a second.
    if (fraction < 1.0 && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const int width = 24;
    const int filled = static_cast<int>(std::lround(fraction * width));
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(width - filled), '.');
    std::fprintf(stderr, "\r\033[K[%s] %s", bar.c_str(), text.c_str());
    std::fflush(stderr);
    return;
  }
  const int quarter = static_cast<int>(fraction * 4.0 + 1e-9);
  if (quarter > last_quarter_ && quarter > 0 && quarter < 4) {
    last_quarter_ = quarter;
    std::fprintf(stderr, "  %3d%% %s\n", quarter * 25, text.c_str());
  }
}

void ProgressLine::Finish(const std::string& text) {
  if (!enabled_) return;
  if (tty_) std::fprintf(stderr, "\r\033[K%s\n", text.c_str());
  else std::fprintf(stderr, "%s\n", text.c_str());
  last_quarter_ = -1;
}

std::string FormatSeconds(double s) {
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, static_cast<int>(s) % 3600 / 60);
  return buf;
}

std::string Plural(std::size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

void PrintLoadNotes(const char* command, const Dataset& data) {
  for (const std::string& note : data.load_notes) std::fprintf(stderr, "qualm %s: %s: %s\n", command, data.name.c_str(), note.c_str());
}

std::string PadRight(const std::string& text, int width) {
  int columns = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++columns;  // not a UTF-8 continuation byte
  return columns >= width ? text : text + std::string(static_cast<std::size_t>(width - columns), ' ');
}

}  // namespace qualm::cli

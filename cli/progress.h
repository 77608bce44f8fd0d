// cli/progress.h: a progress line for long work, and the text formatting
// helpers of the command line's human-readable output.
//
// On a terminal the line is redrawn in place ("\r"); in a log (CI, a pipe) a
// line is printed at each quarter so logs stay short and readable.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "qualm/engine/dataset.h"

namespace qualm::cli {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  // fraction in [0, 1]; text is shown after the bar.
  void Update(double fraction, const std::string& text);
  // Ends the current line (a final state has been drawn).
  void Finish(const std::string& text);

 private:
  bool enabled_;
  bool tty_;
  int last_quarter_ = -1;
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string FormatSeconds(double s);  // "8m12s", "3.4s", "1h02m"

// Number-agreeing nouns: Plural(1, "disagreement") = "1 disagreement".
std::string Plural(std::size_t n, const std::string& noun);

// Prints a data set's load notes (files a loader ignored or skipped) to stderr.
void PrintLoadNotes(const char* command, const Dataset& data);

// Pads UTF-8 text with spaces to `width` columns, counting code points rather
// than bytes, so "Sandale" and "Sandalé" line up.
std::string PadRight(const std::string& text, int width);

}  // namespace qualm::cli

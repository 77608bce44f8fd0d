// qualm/study/image_shift.h: Fashion-MNIST-C, generated -- deterministic,
// seeded image corruptions after MNIST-C (Mu & Gilmer 2019) and CIFAR-10-C
// (Hendrycks & Dietterich 2019), each at severities 1..5.
//
// The study's RQ1 measures disagreements on shifted data; these are its image
// shifts. study/SHIFTS.md describes every type and its parameters per severity.
//
// Determinism contract (the same seed gives the same bytes on any machine):
//  * pixels are rounded to 0..255 first and every output is k/255;
//  * image i is corrupted with its own random stream, an Rng (engine/random.h,
//    mt19937_64 whose output the standard specifies) seeded from
//    (seed, type, severity, i), so it depends on nothing else -- not on the
//    other images or the set's size (a --limit prefix gives a prefix);
//  * arithmetic is fixed-order float/double without FMA contraction
//    (-ffp-contract=off); exp, log, sin and cos are the project's own series
//    (study/src/shift/shift_math.h), never libm's, whose last bits differ between
//    libraries; normal draws are a sum of uniforms (Irwin-Hall), not Box-Muller;
//  * jpeg goes through Debian's libstb (stb_image_write's encoder, stb_image's
//    decoder), so its bytes are pinned to that library's version.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/status.h"

namespace qualm::study {

inline constexpr int kShiftSeverities = 5;  // severities 1..5

struct ImageShiftInfo {
  std::string name;         // "gaussian-noise", ...
  std::string family;       // "noise", "blur", "weather", "digital", "geometric", "mnist-c"
  std::string description;  // one line: what it does and whose parameters it follows
};

// Every type, in a fixed order (the order of tables and the contact sheet).
const std::vector<ImageShiftInfo>& ImageShifts();
bool IsImageShift(const std::string& name);
// "brightness, contrast, ..." for error messages and help texts.
std::string ImageShiftNameList();

// Every image of `clean` (f32 NHWC in [0,1], C = 1 or 3, any H, W) corrupted;
// labels and classes kept. The result is named
// clean.name + "~" + type + "@" + std::to_string(severity).
// Image i's corruption depends only on (seed, type, severity, i) and its pixels.
// Errors: unknown type (the message lists the valid ones), severity outside
// 1..5, data that is not images.
Result<Dataset> ApplyImageShift(const Dataset& clean, const std::string& type, int severity, std::uint64_t seed);

// FNV-1a (64 bit) over the 0..255 byte of every pixel of a data set of images
// (f32 in [0,1]): what the golden tests compare.
std::uint64_t ImageBytesHash(const Dataset& images);

}  // namespace qualm::study

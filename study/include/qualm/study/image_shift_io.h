// qualm/study/image_shift_io.h: shifted image sets as files -- an image folder
// that `--data images:DIR` reads back with the same class ids and labels, and
// a contact sheet (one row per shift type, one column per severity).
#pragma once

#include <cstdint>
#include <string>

#include "qualm/engine/dataset.h"
#include "qualm/status.h"

namespace qualm::study {

// The hidden file that marks a folder as written by WriteImageFolder (the
// image-folder loader skips hidden entries). It holds `provenance` (JSON).
inline constexpr const char* kShiftFolderMarker = ".qualm-shift.json";

// Writes `images` (f32 HWC, C = 1 or 3) as PNGs in the layout of
// frontends/image_folder.h: DIR/<id>-<class name>/<index>.png, the class id
// zero-padded so that the sorted folder names give back the same ids, the
// sample index zero-padded so that file order is data-set order (samples are
// then grouped by class). Class names keep [A-Za-z0-9._-], other bytes become
// '-'. Every class must have at least one image (the loader rejects empty
// class folders, and a missing class would renumber the others).
//
// Written atomically: into a sibling temporary folder, renamed into place. An
// existing DIR is replaced only when it is empty or holds kShiftFolderMarker
// (an earlier output); otherwise nothing is written and the error says so.
Status WriteImageFolder(const Dataset& images, const std::string& dir, const std::string& provenance);

// A PNG (stb_image_write) of every type at every severity on sample `index`
// of `clean`: one row per type in ImageShifts() order, labelled, columns
// "clean" and severities 1..5, each image enlarged `zoom` times (nearest).
// The sample is shifted as the only image of a one-image set, i.e. with the
// random stream of image 0 whatever `index` is.
// Written atomically (frontends::WriteFileAtomically).
Status WriteContactSheet(const Dataset& clean, std::size_t index, std::uint64_t seed, int zoom, const std::string& path);

}  // namespace qualm::study

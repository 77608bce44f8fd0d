// study/src/shift/shift_types.h: one factory per image shift type. Each takes
// the severity (1..5, already checked) and the set's geometry and returns the
// per-image function; the parameters per severity sit in a table at the top of
// each factory, with the source they follow. The registry (image_shift.cpp)
// lists them in order with their names and descriptions.
#pragma once

#include "shift_math.h"

namespace qualm::study::shift {

// noise (shift_noise_blur.cpp)
ShiftFn MakeGaussianNoise(int severity, const Geometry& g);
ShiftFn MakeShotNoise(int severity, const Geometry& g);
ShiftFn MakeImpulseNoise(int severity, const Geometry& g);
ShiftFn MakeSpeckleNoise(int severity, const Geometry& g);
// blur (shift_noise_blur.cpp)
ShiftFn MakeGaussianBlur(int severity, const Geometry& g);
ShiftFn MakeDefocusBlur(int severity, const Geometry& g);
ShiftFn MakeGlassBlur(int severity, const Geometry& g);
ShiftFn MakeMotionBlur(int severity, const Geometry& g);
ShiftFn MakeZoomBlur(int severity, const Geometry& g);
// weather and digital (shift_weather_digital.cpp)
ShiftFn MakeFog(int severity, const Geometry& g);
ShiftFn MakeFrost(int severity, const Geometry& g);
ShiftFn MakeSpatter(int severity, const Geometry& g);
ShiftFn MakeBrightness(int severity, const Geometry& g);
ShiftFn MakeContrast(int severity, const Geometry& g);
ShiftFn MakePixelate(int severity, const Geometry& g);
ShiftFn MakeJpeg(int severity, const Geometry& g);
// geometric and MNIST-C's own (shift_geometric_strokes.cpp)
ShiftFn MakeElastic(int severity, const Geometry& g);
ShiftFn MakeRotate(int severity, const Geometry& g);
ShiftFn MakeScale(int severity, const Geometry& g);
ShiftFn MakeShear(int severity, const Geometry& g);
ShiftFn MakeTranslate(int severity, const Geometry& g);
ShiftFn MakeStripe(int severity, const Geometry& g);
ShiftFn MakeZigzag(int severity, const Geometry& g);
ShiftFn MakeDottedLine(int severity, const Geometry& g);
ShiftFn MakeCannyEdges(int severity, const Geometry& g);

}  // namespace qualm::study::shift

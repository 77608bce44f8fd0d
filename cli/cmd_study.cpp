// qualm study: run a study grid (a preset or a JSON study file) into a folder,
// resumably; `status`, `report` and `merge` read folders without running a model.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "qualm/study/study_report.h"
#include "qualm/study/study_run.h"

namespace qualm::cli {
namespace {

struct StudyArgs {
  std::string preset, spec_file, out, shard = "1/1";
  study::StudyRunOptions options;
  std::vector<std::string> reuse;
  bool no_reuse = false, quiet = false, dry_run = false;
  std::string status_dir, report_dir, merge_out;
  std::vector<std::string> merge_dirs;
};

Status ParseShard(const std::string& s, int* index, int* count) {
  int i = 0, n = 0;
  char extra = 0;
  if (std::sscanf(s.c_str(), "%d/%d%c", &i, &n, &extra) != 2 || n < 1 || i < 1 || i > n)
    return InvalidArgument("--shard: expected i/n with 1 <= i <= n, e.g. 2/4 (got \"" + s + "\")");
  *index = i;
  *count = n;
  return Status::Ok();
}

Result<study::StudySpec> LoadSpec(const StudyArgs& a) {
  if (!a.spec_file.empty()) {
    std::ifstream in(a.spec_file);
    if (!in) return IoError(a.spec_file + ": cannot open the study file");
    std::stringstream text;
    text << in.rdbuf();
    auto spec = study::ParseStudySpec(text.str());
    if (!spec.ok()) return spec.status().WithContext(a.spec_file);
    return spec;
  }
  return study::StudyPreset(a.preset.empty() ? "default" : a.preset);
}

int RunStudyCommand(StudyArgs& a) {
  const char* cmd = "study";
  auto spec = LoadSpec(a);
  if (!spec.ok()) return Fail(cmd, spec.status());
  Status st = ParseShard(a.shard, &a.options.shard_index, &a.options.shard_count);
  if (!st.ok()) return Fail(cmd, st);
  a.options.runtime.threads = ResolveThreads(a.options.runtime.threads);
  a.options.out_dir = a.out.empty() ? "runs/study-" + spec->name : a.out;
  if (a.options.shard_count > 1 && a.out.empty()) {
    a.options.out_dir += "-shard-";
    a.options.out_dir += std::to_string(a.options.shard_index);
  }
  a.options.reuse_model_dirs = a.no_reuse ? std::vector<std::string>{} : a.reuse.empty() ? study::CommittedModelDirs() : a.reuse;
  if (a.dry_run) {
    auto grid = study::ExpandStudy(*spec, a.options.runtime);
    if (!grid.ok()) return Fail(cmd, grid.status());
    const auto shard = study::ShardGrid(*grid, a.options.shard_index, a.options.shard_count);
    std::printf("%s", study::StudySpecJson(*spec).c_str());
    std::printf("cells: %zu (train %zu, variant %zu, eval %zu, retrain %zu, probe %zu) in %d (task, seed) groups\n",
                shard.cells.size(), shard.Count(study::CellKind::kTrain), shard.Count(study::CellKind::kVariant),
                shard.Count(study::CellKind::kEval), shard.Count(study::CellKind::kRetrain),
                shard.Count(study::CellKind::kProbe), grid->groups);
    return 0;
  }
  SetInterruptMessage("qualm study: interrupted; finished cells are kept in " + a.options.out_dir +
                      "; run the same command again to resume");
  ProgressLine progress(!a.quiet);
  std::string tag;
  study::StudyCallbacks cb;
  cb.message = [&](const std::string& m) { std::fprintf(stderr, "qualm study: %s\n", m.c_str()); };
  cb.cell_started = [&](const study::StudyProgress& p) {
    char buf[400];
    std::snprintf(buf, sizeof buf, "[%zu/%zu cells, %s elapsed, ETA %s] %s %s", p.done, p.total,
                  FormatSeconds(p.elapsed).c_str(), p.eta < 0 ? "?" : FormatSeconds(p.eta).c_str(),
                  study::CellKindName(p.cell->kind), p.cell->label.c_str());
    tag = buf;
    if (p.cell->kind == study::CellKind::kEval || p.cell->kind == study::CellKind::kProbe)
      progress.Update(static_cast<double>(p.done) / static_cast<double>(p.total), tag);
    else
      std::fprintf(stderr, "qualm study: %s\n", buf);
  };
  cb.train.message = [&](const std::string& m) {
    if (!a.quiet) std::fprintf(stderr, "  %s\n", m.c_str());
  };
  cb.train.batch = [&](const BatchProgress& bp) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "  epoch %d/%d  batch %d/%d  loss %.4f  acc %.2f%%", bp.epoch, bp.epochs, bp.batch,
                  bp.batches, bp.loss, bp.accuracy * 100.0);
    progress.Update(static_cast<double>(bp.batch) / bp.batches, buf);
  };
  cb.train.epoch = [&](const EpochReport& r) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "  epoch %d  loss %.4f  train acc %.2f%%  val acc %.2f%%  %s", r.epoch, r.train_loss,
                  r.train_accuracy * 100.0, r.validation_accuracy * 100.0, FormatSeconds(r.seconds).c_str());
    progress.Finish(buf);
  };
  auto r = study::RunStudy(*spec, a.options, cb);
  if (!r.ok()) return Fail(cmd, r.status());
  progress.Finish("");
  std::fprintf(stderr, "qualm study: %zu cells: %zu computed, %zu already done, %zu committed models reused; %s\n",
               r->cells, r->computed, r->cached, r->reused_models, FormatSeconds(r->seconds).c_str());
  std::printf("Results: %s/results.md (tables), %s/records.json (per-input records)\n", a.options.out_dir.c_str(),
              a.options.out_dir.c_str());
  std::printf("Report: %s/report.html (analyses: report.md, analysis.json, tables/)\n", a.options.out_dir.c_str());
  return 0;
}

}  // namespace

Runner RegisterStudy(CLI::App& app) {
  auto a = std::make_shared<StudyArgs>();
  a->options.runtime.threads = 0;
  std::string presets;
  for (const auto& p : study::StudyPresetNames()) presets += (presets.empty() ? "" : ", ") + p;
  auto* preset = app.add_option("--preset", a->preset, "A built-in study: " + presets + " (default: default)")
                     ->check(CLI::IsMember(study::StudyPresetNames()));
  app.add_option("--spec", a->spec_file, "A study file (JSON, see study/STUDY.md)")->check(CLI::ExistingFile)->excludes(preset);
  app.add_option("--out,-o", a->out, "Study folder (default: runs/study-<name>)");
  app.add_option("--shard", a->shard, "Run only slice i of n of the grid (deterministic; combine with `study merge`)")
      ->capture_default_str();
  AddThreadsOption(app, a->options.runtime.threads);
  AddBackendOption(app, a->options.runtime.backend);
  AddDataDirOptions(app, a->options.data_options);
  app.add_option("--reuse-models", a->reuse,
                 "Folders of float models to reuse where the training configuration matches "
                 "(default: the committed study/results/models-*)");
  app.add_flag("--no-reuse", a->no_reuse, "Train every model, reuse none");
  app.add_flag("--dry-run", a->dry_run, "Print the resolved study and its cell counts, run nothing");
  app.add_flag("-q,--quiet", a->quiet, "No per-batch progress");

  auto* status = app.add_subcommand("status", "What a study folder holds and whether it is running (runs nothing)");
  status->add_option("dir", a->status_dir, "Study folder")->required()->check(CLI::ExistingDirectory);
  auto* report = app.add_subcommand("report", "Rebuild results.md, results.json and records.json from the cells");
  report->add_option("dir", a->report_dir, "Study folder")->required()->check(CLI::ExistingDirectory);
  auto* merge = app.add_subcommand("merge", "Combine shard folders into one study folder");
  merge->add_option("--out,-o", a->merge_out, "The combined folder")->required();
  merge->add_option("shards", a->merge_dirs, "Shard folders")->required()->check(CLI::ExistingDirectory);
  app.require_subcommand(0, 1);

  return [a, status, report, merge] {
    if (status->parsed()) {
      auto s = study::ReadStudyStatus(a->status_dir);
      if (!s.ok()) return Fail("study status", s.status());
      std::printf("%s", s->Describe().c_str());
      return 0;
    }
    if (report->parsed()) {
      Status s = study::WriteStudyReport(a->report_dir);
      if (!s.ok()) return Fail("study report", s);
      std::printf("Results: %s/results.md\n", a->report_dir.c_str());
      return 0;
    }
    if (merge->parsed()) {
      Status s = study::MergeStudies(a->merge_out, a->merge_dirs,
                                     [](const std::string& m) { std::fprintf(stderr, "qualm study merge: %s\n", m.c_str()); });
      if (!s.ok()) return Fail("study merge", s);
      std::printf("Results: %s/results.md (tables), %s/records.json (per-input records)\n", a->merge_out.c_str(),
                  a->merge_out.c_str());
      std::printf("Report: %s/report.html\n", a->merge_out.c_str());
      return 0;
    }
    return RunStudyCommand(*a);
  };
}

}  // namespace qualm::cli

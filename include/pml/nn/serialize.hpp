#pragma once
/// @file
/// Saving and loading a model's parameters (nn::Parameter lists) in pml's model-file format
/// (serialization/model_file.hpp: versioned binary or JSON, with the model type and options in the header).

#include <filesystem>
#include <string>
#include <vector>

#include "pml/serialization/model_file.hpp"
#include "pml/nn/parameter.hpp"

namespace pml::nn {

using io::FileFormat;
using io::ModelHeader;
using io::parameter_file_version;
namespace detail {
using io::detail::fnv1a;
}

/// Writes the parameters' values to `path` (atomically: temporary file, then rename), with the model's
/// type and options in the header (format: serialization/model_file.hpp).
/// @throw std::runtime_error naming the path if the file cannot be written; std::invalid_argument if the
///        header's options are not a JSON object.
template <Real T>
void save_parameters(const std::filesystem::path& path, const ConstParameterList<T>& params, FileFormat format = FileFormat::binary, const ModelHeader& header = {}) {
  std::vector<io::NamedRef<T>> refs;
  for (const auto* p : params) refs.push_back({p->name, p->value});
  io::write_model_file(path, refs, format, header, "nn::save_parameters");
}
/// save_parameters() for a mutable list (e.g. `net.parameters()` of a non-const network).
template <Real T>
void save_parameters(const std::filesystem::path& path, const ParameterList<T>& params, FileFormat format = FileFormat::binary, const ModelHeader& header = {}) {
  save_parameters(path, as_const(params), format, header);
}

/// Reads a whole parameter file without checking it against a model (see io::read_model_file).
template <Real T> io::ModelFile<T> read_parameter_file(const std::filesystem::path& path, const char* function = "nn::read_parameter_file") {
  return io::read_model_file<T>(path, function);
}

template <Real T> void assign_parameters(io::ModelFile<T>& file, const ParameterList<T>& params, const std::string& where);

/// Reads `path` into `params`. Names, count and shapes must match the model, and the file's model type
/// (when it has one) must be `model` (when given); a file saved from the other scalar type is converted.
/// Nothing changes unless the whole file is valid. @throw std::runtime_error naming the path and what is wrong.
template <Real T> void load_parameters(const std::filesystem::path& path, const ParameterList<T>& params, std::string_view model = {}) {
  const std::string where = "nn::load_parameters: '" + path.string() + "'";
  io::ModelFile<T> file = io::read_model_file<T>(path, "nn::load_parameters");
  if (!model.empty() && !file.model.empty() && file.model != model)
    throw std::runtime_error(where + " holds a " + file.model + ", not a " + std::string(model));
  assign_parameters(file, params, where);
}

/// Moves the matrices of a file already read into `params` after checking count, names, shapes and
/// finiteness (nothing changes unless all match). `where` starts the error messages.
template <Real T> void assign_parameters(io::ModelFile<T>& file, const ParameterList<T>& params, const std::string& where) {
  std::vector<io::NamedMatrix<T>>& loaded = file.parameters;
  if (loaded.size() != params.size())
    throw std::runtime_error(where + " holds " + std::to_string(loaded.size()) + " parameters, the model has " + std::to_string(params.size()));
  for (std::size_t k = 0; k < params.size(); ++k) {
    const auto& p = *params[k];
    const auto& l = loaded[k];
    if (l.name != p.name) throw std::runtime_error(where + ": parameter " + std::to_string(k) + " is '" + l.name + "', the model expects '" + p.name + "'");
    if (l.value.rows() != p.value.rows() || l.value.cols() != p.value.cols())
      throw std::runtime_error(where + ": parameter '" + p.name + "' is " + std::to_string(l.value.rows()) + "x" + std::to_string(l.value.cols()) +
                               " in the file, " + std::to_string(p.value.rows()) + "x" + std::to_string(p.value.cols()) + " in the model");
    if (!l.value.allFinite()) throw std::runtime_error(where + ": parameter '" + p.name + "' has non-finite values");
  }
  for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = std::move(loaded[k].value);
}

}  // namespace pml::nn

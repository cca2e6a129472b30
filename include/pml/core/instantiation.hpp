#pragma once
/// @file
/// Optional extern templates: a program of many translation units may compile each model class once.
/// Define PML_EXTERN_TEMPLATES (on every translation unit) and explicitly instantiate the classes for
/// float and double in one of them (`template class pml::GaussianMixture<double>;`); pml's own tests
/// do so (tests/instances/). Without the macro, nothing changes.

#if defined(PML_EXTERN_TEMPLATES)
/// Declares Class<float> and Class<double> as instantiated in another translation unit.
#define PML_EXTERN_TEMPLATE(Class) \
  extern template class Class<float>; \
  extern template class Class<double>;
#else
/// Declares Class<float> and Class<double> as instantiated in another translation unit (only when
/// PML_EXTERN_TEMPLATES is defined; here nothing).
#define PML_EXTERN_TEMPLATE(Class)
#endif

// A visitor made of lambdas, for std::visit. Pure.
#pragma once

namespace ts {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace ts

#include "store/store.hpp"

namespace vwr::store {

const boost::system::error_category& StoreCategory() {
  struct Category final : boost::system::error_category {
    const char* name() const noexcept override { return "vwr.store"; }
    std::string message(int value) const override {
      switch (static_cast<StoreError>(value)) {
        case StoreError::kUnavailable:
          return "the store is unavailable";
        case StoreError::kNotDurable:
          return "the change could not be recorded";
      }
      return "unknown store error";
    }
  };
  static const Category category;
  return category;
}

}  // namespace vwr::store

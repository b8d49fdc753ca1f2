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

void SetWait(TicketAnswer& answer, const std::optional<core::WaitEstimate>& wait,
             core::WaitBasis basis) {
  answer.eta_seconds.reset();
  answer.eta_low_seconds.reset();
  answer.eta_high_seconds.reset();
  if (!wait) return;
  answer.eta_seconds = wait->eta_seconds;
  answer.eta_low_seconds = wait->low_seconds;
  answer.eta_high_seconds = wait->high_seconds;
  answer.eta_basis = basis;
}

void SetNewcomerWait(RoomFigures& figures, const std::optional<core::WaitEstimate>& wait,
                     core::WaitBasis basis) {
  figures.newcomer_eta_seconds.reset();
  figures.newcomer_eta_low_seconds.reset();
  figures.newcomer_eta_high_seconds.reset();
  if (!wait) return;
  figures.newcomer_eta_seconds = wait->eta_seconds;
  figures.newcomer_eta_low_seconds = wait->low_seconds;
  figures.newcomer_eta_high_seconds = wait->high_seconds;
  figures.newcomer_eta_basis = basis;
}

}  // namespace vwr::store

// Remembers recent basic-auth verdicts so that PBKDF2 (~6 ms) is not paid per request,
// and bounds how many slow checks the process does per second, so that guessing
// passwords cannot burn the gateway's CPU.
//
// Entries are keyed by crypto::process_keyed_digest of the credential's id, its hash's salt
// and the password (no password, and no unkeyed hash of one, is stored). Shared by every worker and every snapshot (a reload keeps the cache; an entry
// for a credential whose hash changed is ignored because the hash's salt is part of the key).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "crypto/password.hpp"

namespace portico::plugins {

class PasswordCache {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Verdict { match, mismatch, unknown };

  // `checks_per_second`: slow verifications allowed per second (a token bucket).
  PasswordCache(std::chrono::seconds ttl, std::size_t max_entries, double checks_per_second);

  // The remembered verdict for this credential and password, if any.
  Verdict lookup(std::string_view credential_id, const crypto::PasswordHash& hash, std::string_view password);
  // Takes one slow-check token; false when the budget for this second is spent.
  bool take_check_token();
  void remember(std::string_view credential_id, const crypto::PasswordHash& hash, std::string_view password, bool match);

  static PasswordCache& shared();  // the process-wide one the plugin uses

 private:
  std::string key(std::string_view credential_id, const crypto::PasswordHash& hash, std::string_view password) const;

  std::chrono::seconds ttl_;
  std::size_t max_entries_;
  double rate_;
  std::mutex mu_;
  struct Entry {
    bool match;
    Clock::time_point expires;
  };
  std::unordered_map<std::string, Entry> entries_;
  double tokens_;
  Clock::time_point refilled_;
};

}  // namespace portico::plugins

// How verify and forward results are shown: a table for people, JSON for scripts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "verify/verify.h"

namespace tensorferry::verify {

std::string format_verify_table(const VerifyReport& report);
nlohmann::json verify_report_json(const VerifyReport& report);

// Every stage's values, per sequence and token (the debugging view `tensorferry forward` prints,
// which the tests compare against the frameworks' own hidden states).
nlohmann::json forward_json(const Model& model, const std::vector<TokenSequence>& sequences,
                            const ForwardResult& result);

// "1.000e-05", or "1.000e-05 + 3.125e-02 × max |A|" when the bound has a relative part.
std::string bound_formula(const VerifyReport& report);

// "sequence 2, token 5, column 17": where a stage's largest error (or first non-finite value) is.
std::string where(const StageReport& stage);

// The passing stage whose error used the largest share of its bound; nullptr when none passed.
const StageReport* closest_to_bound(const VerifyReport& report);

// "1.234e-05"; "inf", "-inf", "nan" for the non-finite.
std::string scientific(double value);

// JSON has no infinity or NaN: those become the strings "inf", "-inf", "nan".
nlohmann::json json_number(double value);

}  // namespace tensorferry::verify

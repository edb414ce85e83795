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

// "sequence 2, token 5, column 17" (0-based, like the JSON): where a stage's largest error (or
// first non-finite value) is.
std::string where(const StageReport& stage);

// The passing stage whose error used the largest share of its bound; nullptr when none passed.
const StageReport* closest_to_bound(const VerifyReport& report);

// "weights: 392 tensors (124439808 values) bit-identical in canonical form; configs equal: ..."
std::string describe_identical(const IdenticalWeights& same);

// "1.234e-05"; "inf", "-inf", "nan" for the non-finite.
std::string scientific(double value);

// JSON has no infinity or NaN, and a number is never written as a string: a non-finite value is
// null. put_number also names what the null stands for in the object's "non_finite" member:
// {"max_rel": null, "non_finite": {"max_rel": "inf"}} (values "inf", "-inf", "nan").
nlohmann::json json_number(double value);
void put_number(nlohmann::json& object, const std::string& key, double value);

}  // namespace tensorferry::verify

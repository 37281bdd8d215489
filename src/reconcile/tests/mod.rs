//! Unit tests of the pure pipeline, from small fixtures.

mod desired_tests;
mod fixtures;
mod plan_limit_tests;
mod plan_tests;
mod status_tests;

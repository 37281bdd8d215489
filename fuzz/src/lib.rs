//! Helpers shared by the fuzz targets: building planner inputs from fuzz bytes
//! ([`planner_input`]) and a model of how Stytch applies the planned calls ([`stytch_sim`]).

pub mod planner_input;
pub mod stytch_sim;

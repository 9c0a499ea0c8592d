//! Guanxi's file formats for import and export. Pure: reads and writes bytes, knows the domain types, never
//! touches a database or the network.
//!
//! - [`export`]: CSV (UTF-8 with BOM), XLSX, JSON Lines, vCard 4.0, with spreadsheet formulas neutralised.
//! - [`columns`]: the spreadsheet columns of each record type.

pub mod columns;
pub mod export;

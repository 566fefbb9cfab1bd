-- One database and one owner per service: no service reads another's tables.
-- Runs once, when the postgres volume is created (docker-entrypoint-initdb.d).
CREATE ROLE marketing_intake LOGIN PASSWORD 'marketing_intake';
CREATE DATABASE marketing_intake OWNER marketing_intake;
CREATE ROLE lead_scoring LOGIN PASSWORD 'lead_scoring';
CREATE DATABASE lead_scoring OWNER lead_scoring;
CREATE ROLE sales_assignment LOGIN PASSWORD 'sales_assignment';
CREATE DATABASE sales_assignment OWNER sales_assignment;
CREATE ROLE feedback LOGIN PASSWORD 'feedback';
CREATE DATABASE feedback OWNER feedback;

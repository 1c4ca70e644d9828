DROP INDEX oidc_logins_created_at;
DROP TABLE oidc_logins;

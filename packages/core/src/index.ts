/** Version of @dsql/core, used in the default `application_name`. */
export const VERSION = '0.1.0';

export const keyKeys = {
  all: ['api-keys'] as const,
  list: () => [...keyKeys.all, 'list'] as const,
};

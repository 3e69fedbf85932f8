import { zodResolver } from '@hookform/resolvers/zod';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { useTranslation } from 'react-i18next';
import { ApiError } from '@/lib/api-client';
import { describeError } from '@/lib/errors';
import { applyServerErrors, fieldText } from '@/lib/form';
import type { APIKey, CreatedAPIKey } from '@/types/api';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card, CardHeader } from '@/components/ui/card';
import { CopyButton } from '@/components/ui/copy-button';
import { Dialog } from '@/components/ui/dialog';
import { EmptyState } from '@/components/ui/empty-state';
import { TextField } from '@/components/ui/field';
import { PlusIcon, TrashIcon } from '@/components/ui/icons';
import { SkeletonRows } from '@/components/ui/skeleton';
import { Table, Td, Th } from '@/components/ui/table';
import { RelativeTime } from '@/components/ui/time';
import { createKeyInputSchema, useCreateKey, type CreateKeyInput } from '../api/create-key';
import { useKeys } from '../api/get-keys';
import { useRevokeKey } from '../api/revoke-key';

function CreateKeyDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (k: CreatedAPIKey) => void }) {
  const { t, i18n } = useTranslation();
  const create = useCreateKey();
  const form = useForm<CreateKeyInput>({ resolver: zodResolver(createKeyInputSchema), defaultValues: { name: '' } });
  const close = () => {
    form.reset();
    create.reset();
    onClose();
  };
  const onSubmit = form.handleSubmit((v) =>
    create.mutate(v, {
      onSuccess: (k) => {
        form.reset();
        create.reset();
        onCreated(k);
      },
      onError: (err) => applyServerErrors(err, form.setError, ['name'], t),
    }),
  );
  const err = create.error;
  return (
    <Dialog
      open={open}
      onClose={close}
      title={t('keys.createTitle')}
      footer={
        <>
          <Button variant="secondary" onClick={close}>
            {t('common.cancel')}
          </Button>
          <Button type="submit" form="create-key-form" loading={create.isPending}>
            {t('keys.create')}
          </Button>
        </>
      }
    >
      <form id="create-key-form" onSubmit={onSubmit} noValidate className="space-y-3">
        {err && !(err instanceof ApiError && err.fields.length > 0) && (
          <Alert tone="error">{err instanceof ApiError && err.code === 'conflict' ? t('keys.tooMany') : describeError(err, t, i18n.language)}</Alert>
        )}
        <TextField label={t('keys.name')} hint={t('keys.nameHint')} autoFocus error={fieldText(form.formState.errors.name, t)} {...form.register('name')} />
      </form>
    </Dialog>
  );
}

function CreatedKeyDialog({ created, onClose }: { created: CreatedAPIKey | null; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Dialog
      open={created !== null}
      onClose={onClose}
      title={t('keys.createdTitle', { name: created?.name ?? '' })}
      footer={<Button onClick={onClose}>{t('keys.done')}</Button>}
    >
      <Alert tone="warning">{t('keys.onlyOnce')}</Alert>
      <label htmlFor="new-key" className="mt-4 block text-sm font-medium text-slate-800">
        {t('keys.yourKey')}
      </label>
      <div className="mt-1 flex gap-2">
        <input
          id="new-key"
          readOnly
          dir="ltr"
          value={created?.key ?? ''}
          onFocus={(e) => e.currentTarget.select()}
          className="block w-full min-w-0 rounded-lg bg-slate-50 px-3 py-2 font-mono text-sm ring-1 ring-slate-300 ring-inset"
          data-testid="new-api-key"
        />
        {created && <CopyButton text={created.key} size="md" />}
      </div>
    </Dialog>
  );
}

function DeleteKeyDialog({ target, onClose }: { target: APIKey | null; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const revoke = useRevokeKey();
  const close = () => {
    revoke.reset();
    onClose();
  };
  return (
    <Dialog
      open={target !== null}
      onClose={close}
      title={t('keys.deleteTitle', { name: target?.name ?? '' })}
      footer={
        <>
          <Button variant="secondary" onClick={close}>
            {t('common.cancel')}
          </Button>
          <Button variant="danger" loading={revoke.isPending} onClick={() => target && revoke.mutate(target.id, { onSuccess: close })}>
            {t('keys.delete')}
          </Button>
        </>
      }
    >
      <p>{t('keys.deleteBody')}</p>
      {revoke.isError && (
        <Alert tone="error" className="mt-3">
          {describeError(revoke.error, t, i18n.language)}
        </Alert>
      )}
    </Dialog>
  );
}

/**
 * KeysCard lists the account's API keys (name, prefix, created, last
 * used), creates one (shown once, with copy) and deletes one after a
 * confirmation. Revoked keys stay in the portal for the usage history but
 * are not listed here.
 */
export function KeysCard() {
  const { t, i18n } = useTranslation();
  const keys = useKeys();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedAPIKey | null>(null);
  const [deleting, setDeleting] = useState<APIKey | null>(null);
  const active = keys.data?.filter((k) => !k.revoked_at) ?? [];
  return (
    <Card aria-labelledby="keys-title">
      <CardHeader
        id="keys-title"
        title={t('keys.title')}
        description={t('keys.description')}
        actions={
          <Button size="sm" onClick={() => setCreating(true)}>
            <PlusIcon />
            {t('keys.create')}
          </Button>
        }
      />
      {keys.isError && <Alert tone="error">{describeError(keys.error, t, i18n.language)}</Alert>}
      {keys.isPending && <SkeletonRows rows={3} label={t('common.loading')} />}
      {keys.data && active.length === 0 && (
        <EmptyState
          title={t('keys.emptyTitle')}
          action={
            <Button onClick={() => setCreating(true)}>
              <PlusIcon />
              {t('keys.create')}
            </Button>
          }
        >
          {t('keys.emptyBody')}
        </EmptyState>
      )}
      {active.length > 0 && (
        <Table label={t('keys.title')}>
          <thead>
            <tr>
              <Th>{t('keys.name')}</Th>
              <Th>{t('keys.prefix')}</Th>
              <Th className="hidden sm:table-cell">{t('keys.created')}</Th>
              <Th>{t('keys.lastUsed')}</Th>
              <Th>
                <span className="sr-only">{t('keys.actions')}</span>
              </Th>
            </tr>
          </thead>
          <tbody>
            {active.map((k) => (
              <tr key={k.id}>
                <Td className="font-medium">{k.name}</Td>
                <Td>
                  <code dir="ltr">{k.prefix}…</code>
                </Td>
                <Td className="hidden sm:table-cell">
                  <RelativeTime iso={k.created_at} />
                </Td>
                <Td>{k.last_used_at ? <RelativeTime iso={k.last_used_at} /> : <span className="text-slate-500">{t('keys.never')}</span>}</Td>
                <Td className="text-end">
                  <Button variant="ghost" size="sm" onClick={() => setDeleting(k)} aria-label={t('keys.deleteNamed', { name: k.name })}>
                    <TrashIcon />
                  </Button>
                </Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      <CreateKeyDialog open={creating} onClose={() => setCreating(false)} onCreated={(k) => {
        setCreating(false);
        setCreated(k);
      }} />
      <CreatedKeyDialog created={created} onClose={() => setCreated(null)} />
      <DeleteKeyDialog target={deleting} onClose={() => setDeleting(null)} />
    </Card>
  );
}

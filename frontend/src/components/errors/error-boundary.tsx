import { Component, type ErrorInfo, type ReactNode } from 'react';
import { ErrorPanel } from './error-panel';

type Props = { children: ReactNode; onReset?: () => void };
type State = { error: Error | null };

/**
 * ErrorBoundary keeps a failing page from taking the whole app down: it
 * shows what happened with a way to try again, and the header, footer and
 * language switch stay usable.
 */
export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('page error', error, info.componentStack);
  }

  reset = (): void => {
    this.props.onReset?.();
    this.setState({ error: null });
  };

  render(): ReactNode {
    if (this.state.error) return <ErrorPanel error={this.state.error} onRetry={this.reset} />;
    return this.props.children;
  }
}
